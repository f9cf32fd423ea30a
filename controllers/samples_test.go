package controllers

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ------ SAMPLES AND EVENTS ------

var _ = Describe("config/samples", func() {
	It("are admitted and come up Running, with events recorded on the group", func() {
		ns := admissionNamespace("sample")
		data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "samples", "replnode_v1alpha1_replicationgroup.yaml"))
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		groupName := ""
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
				break
			} else {
				Expect(err).NotTo(HaveOccurred())
			}
			if len(obj.Object) == 0 {
				continue
			}
			obj.SetNamespace(ns)
			Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed(), "creating %s %s", obj.GetKind(), obj.GetName())
			if obj.GetKind() == "ReplicationGroup" {
				groupName = obj.GetName()
			}
		}
		Expect(groupName).NotTo(BeEmpty())
		expectRunning(ns, groupName, 2)

		Eventually(func(g Gomega) {
			var evs eventsv1.EventList
			g.Expect(k8sClient.List(suiteCtx, &evs, client.InNamespace(ns))).To(Succeed())
			reasons := map[string]bool{}
			for _, e := range evs.Items {
				if e.Regarding.Kind == "ReplicationGroup" && e.Regarding.Name == groupName {
					reasons[e.Reason] = true
				}
			}
			g.Expect(reasons).To(HaveKey("MemberCreated"))
			g.Expect(reasons).To(HaveKey("MasterElected"))
		}, eventually, poll).Should(Succeed())
	})
})
