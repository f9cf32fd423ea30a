package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
)

var _ = Describe("restore from a backup", func() {
	It("waits for the Backup, gives only the first master the restore step, and reports its outcome", func() {
		ns := admissionNamespace("restore")
		kubelet.mu.Lock()
		kubelet.hold[ns+"/restored-0"] = true // Pending while its init step runs
		kubelet.mu.Unlock()
		rg := &replnodev1alpha1.ReplicationGroup{ObjectMeta: metav1.ObjectMeta{Name: "restored", Namespace: ns}}
		rg.Spec.Replicas = ptr.To[int32](1)
		rg.Spec.Bootstrap = &replnodev1alpha1.BootstrapSpec{FromBackup: &replnodev1alpha1.FromBackupSpec{BackupName: "nightly"}}
		Expect(k8sClient.Create(suiteCtx, rg)).To(Succeed())

		restored := func(g Gomega) *metav1.Condition {
			c := meta.FindStatusCondition(getGroup(ns, "restored").Status.Conditions, replnodev1alpha1.ConditionRestored)
			g.Expect(c).NotTo(BeNil())
			return c
		}
		By("the Backup does not exist: no master yet, Restored=False BackupNotReady")
		Eventually(func(g Gomega) {
			c := restored(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("BackupNotReady"))
			g.Expect(c.Message).To(ContainSubstring(`"nightly" does not exist`))
		}, eventually, poll).Should(Succeed())
		err := k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "restored-0"}, &corev1.Pod{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the first master was created before its backup: %v", err)

		By("the Backup completes: the first master gets the restore step")
		bk := &replnodev1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns},
			Spec: replnodev1alpha1.BackupSpec{Group: "cache", ObjectStore: replnodev1alpha1.ObjectStoreSpec{
				Bucket: "backups", Endpoint: "minio.storage:9000", Insecure: true,
				Credentials: replnodev1alpha1.ObjectStoreCredentials{SecretName: "s3"}}}}
		Expect(k8sClient.Create(suiteCtx, bk)).To(Succeed())
		bk.Status.Phase = replnodev1alpha1.BackupPhaseCompleted
		bk.Status.ManifestKey = ns + "/cache/nightly/manifest.json"
		bk.Status.ObjectKey = ns + "/cache/nightly/dump.rdb"
		bk.Status.Manifest = &replnodev1alpha1.BackupManifest{SHA256: "00", Size: 1, Keys: 1, ReplID: "r", Offset: 1,
			Time: metav1.Now(), DataKey: bk.Status.ObjectKey}
		Expect(k8sClient.Status().Update(suiteCtx, bk)).To(Succeed())
		pod := &corev1.Pod{}
		Eventually(func() error {
			return k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "restored-0"}, pod)
		}, eventually, poll).Should(Succeed())
		Expect(pod.Spec.InitContainers).To(HaveLen(1))
		Expect(pod.Spec.InitContainers[0].Name).To(Equal(restoreContainerName))
		Expect(pod.Spec.InitContainers[0].Args).To(ContainElements("-manifest", bk.Status.ManifestKey, "-bucket", "backups", "-endpoint", "minio.storage:9000"))

		By("the restore step refuses a corrupted object: Restored=False ChecksumMismatch")
		setInit := func(code int32, msg string) {
			Eventually(func() error {
				p := &corev1.Pod{}
				if err := k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "restored-0"}, p); err != nil {
					return err
				}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: restoreContainerName,
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: msg}}}}
				return k8sClient.Status().Update(suiteCtx, p)
			}, eventually, poll).Should(Succeed())
		}
		setInit(3, "ChecksumMismatch: refused s3://backups/x: sha256 differs")
		Eventually(func(g Gomega) {
			c := restored(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("ChecksumMismatch"))
		}, eventually, poll).Should(Succeed())

		By("a restore that succeeds: the group runs, Restored=True, replicas get no restore step")
		setInit(0, "RestoredFromBackup: s3://backups/"+bk.Status.ManifestKey+" (1 keys)")
		kubelet.mu.Lock()
		delete(kubelet.hold, ns+"/restored-0")
		kubelet.mu.Unlock()
		expectRunning(ns, "restored", 1)
		Eventually(func(g Gomega) {
			c := restored(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal("RestoredFromBackup"))
			g.Expect(c.Message).To(ContainSubstring(bk.Status.ManifestKey))
		}, eventually, poll).Should(Succeed())
		replica := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "restored-1"}, replica)).To(Succeed())
		Expect(replica.Spec.InitContainers).To(BeEmpty())
	})
})
