package localcluster_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// intOrName returns a named port reference.
func intOrName(name string) intstr.IntOrString { return intstr.FromString(name) }

// redisPing sends PING to addr over RESP and returns the reply line.
func redisPing(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestDeploymentBecomesReadyWithEndpoints runs a two-replica Deployment of
// the replnode image behind a Service: the pods get distinct IPs, become
// Ready, answer PING from the host, and the endpointslice controller lists
// both ready addresses.
func TestDeploymentBecomesReadyWithEndpoints(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	tmpl := serverPod("db")
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptrTo(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "db"},
			Ports: []corev1.ServicePort{{Name: "redis", Port: 6379, TargetPort: intstr.FromString("redis")}}},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 120*time.Second, "deployment available with 2 ready replicas", func() (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.ReadyReplicas == 2 && d.Status.AvailableReplicas == 2, fmt.Errorf("status %+v", d.Status)
	})
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=db"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods: %v %v", pods, err)
	}
	ips := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.PodIP == "" || ips[p.Status.PodIP] {
			t.Fatalf("pod %s has empty or duplicate IP %q", p.Name, p.Status.PodIP)
		}
		ips[p.Status.PodIP] = true
		if reply, err := redisPing(net.JoinHostPort(p.Status.PodIP, "6379")); err != nil || reply != "+PONG" {
			t.Errorf("PING %s: %q %v", p.Status.PodIP, reply, err)
		}
	}
	eventually(t, 60*time.Second, "endpointslice with both ready pod IPs", func() (bool, error) {
		slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=db"})
		if err != nil {
			return false, err
		}
		ready := map[string]bool{}
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					for _, a := range e.Addresses {
						ready[a] = true
					}
				}
			}
		}
		for ip := range ips {
			if !ready[ip] {
				return false, fmt.Errorf("ready endpoints %v lack %s", ready, ip)
			}
		}
		return true, nil
	})
}

// TestUnknownImageWaitsWithErrImagePull checks the waiting reason and message.
func TestUnknownImageWaitsWithErrImagePull(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	pod := shellPod("noimage", "true")
	pod.Spec.Containers[0].Image = "example.com/not-mapped:v1"
	createPod(t, ns, pod)
	eventually(t, 60*time.Second, "ErrImagePull", func() (bool, error) {
		p, err := getPod(ns, "noimage")
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && w.Reason == "ErrImagePull" && strings.Contains(w.Message, "not mapped") {
				return true, nil
			}
		}
		return false, fmt.Errorf("statuses %+v", p.Status.ContainerStatuses)
	})
}

// TestEnvVolumesAndInClusterAPI checks, from inside a pod: env from
// fieldRef, secretKeyRef, configMapKeyRef and $(VAR); configMap items with
// modes, secret and downwardAPI volumes; and that the projected service
// account token reaches the API server with RBAC applied.
func TestEnvVolumesAndInClusterAPI(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"mode": "fast", "app.conf": "port 6379\n", "unused": "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		StringData: map[string]string{"password": "hunter2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "read-pods"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "read-pods"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read-pods"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: ns}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	script := `set -u
env > /out/env
stat -c '%a %n' /etc/app/app.conf > /out/modes
ls /etc/app > /out/cfgfiles
cat /etc/sec/password > /out/secret
cat /etc/podinfo/name /etc/podinfo/labels > /out/downward
SA=/var/run/secrets/kubernetes.io/serviceaccount
curl -s -o /out/self.json -w '%{http_code}' --cacert $SA/ca.crt -H "Authorization: Bearer $(cat $SA/token)" \
  https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat $SA/namespace)/pods/$MY_NAME > /out/get-code
curl -s -o /dev/null -w '%{http_code}' --cacert $SA/ca.crt -H "Authorization: Bearer $(cat $SA/token)" \
  https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat $SA/namespace)/secrets > /out/list-code
touch /out/done
sleep 3600`
	pod := shellPod("envvol", script)
	c := &pod.Spec.Containers[0]
	c.Env = []corev1.EnvVar{
		{Name: "MY_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "MY_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "MY_NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
		{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
		{Name: "ADDR", Value: "$(MY_IP):6379"},
	}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "out", MountPath: "/out"},
		{Name: "cfg", MountPath: "/etc/app"},
		{Name: "sec", MountPath: "/etc/sec", ReadOnly: true},
		{Name: "podinfo", MountPath: "/etc/podinfo"},
	}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "out", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
			Items:                []corev1.KeyToPath{{Key: "app.conf", Path: "app.conf", Mode: ptrTo(int32(0o640))}}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
		{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		}}}},
	}
	createPod(t, ns, pod)
	p := waitReady(t, ns, "envvol", 90*time.Second)
	out := filepath.Join(podDir(p), "volumes", "out")
	eventually(t, 60*time.Second, "the pod's script to finish", func() (bool, error) {
		_, err := os.Stat(filepath.Join(out, "done"))
		return err == nil, err
	})
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		return string(b)
	}
	env := read("env")
	for _, want := range []string{
		"MY_IP=" + p.Status.PodIP, "MY_NAME=envvol", "MY_NS=" + ns, "PASSWORD=hunter2", "MODE=fast",
		"ADDR=" + p.Status.PodIP + ":6379", "KUBERNETES_SERVICE_HOST=", "HOSTNAME=envvol",
	} {
		if !strings.Contains(env, want+"\n") && !strings.Contains(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if got := read("modes"); !strings.HasPrefix(got, "640 ") {
		t.Errorf("configMap item mode = %q, want 640", got)
	}
	if got := strings.Fields(read("cfgfiles")); len(got) != 1 || got[0] != "app.conf" {
		t.Errorf("configMap items: files %v, want only app.conf", got)
	}
	if got := read("secret"); got != "hunter2" {
		t.Errorf("secret volume = %q", got)
	}
	if got := read("downward"); !strings.Contains(got, "envvol") || !strings.Contains(got, `app="envvol"`) {
		t.Errorf("downwardAPI volume = %q", got)
	}
	if got := read("get-code"); got != "200" {
		t.Errorf("in-cluster GET of own pod: HTTP %s (%s)", got, read("self.json"))
	}
	if got := read("list-code"); got != "403" {
		t.Errorf("in-cluster list of secrets without RBAC: HTTP %s, want 403", got)
	}
	if _, err := execIn(containerPid(t, p, "main"), 5*time.Second, "sh", "-c", "echo x > /etc/sec/new"); err == nil {
		t.Error("wrote into a read-only secret mount")
	}
}

// TestProbes checks readiness from exec and httpGet probes and a restart
// caused by a failing liveness probe.
func TestProbes(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	pod := shellPod("probed", "sleep 3; touch /tmp/ready; exec python3 -m http.server 8080 --bind 0.0.0.0")
	c := &pod.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}}, PeriodSeconds: 1}
	c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intOrName("http")}}, PeriodSeconds: 1, FailureThreshold: 60}
	flaky := corev1.Container{
		Name: "flaky", Image: shellImage,
		Command:       []string{"sh", "-c", "touch /tmp/alive; sleep 4; rm /tmp/alive; sleep 3600"},
		LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/alive"}}}, PeriodSeconds: 1, FailureThreshold: 2},
	}
	pod.Spec.Containers = append(pod.Spec.Containers, flaky)
	pod.Spec.TerminationGracePeriodSeconds = ptrTo(int64(1))
	createPod(t, ns, pod)
	eventually(t, 60*time.Second, "main container ready via exec and http probes", func() (bool, error) {
		p, err := getPod(ns, "probed")
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.Name == "main" {
				return s.Ready && s.Started != nil && *s.Started, fmt.Errorf("main: %+v", s)
			}
		}
		return false, fmt.Errorf("no status yet")
	})
	eventually(t, 60*time.Second, "flaky container restarted by its liveness probe", func() (bool, error) {
		p, err := getPod(ns, "probed")
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.Name == "flaky" {
				return s.RestartCount >= 1 && s.LastTerminationState.Terminated != nil, fmt.Errorf("flaky: %+v", s)
			}
		}
		return false, fmt.Errorf("no status yet")
	})
	events, err := client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events.Items {
		if e.Reason == "Killing" && strings.Contains(e.Message, "liveness") {
			found = true
		}
	}
	if !found {
		t.Error("no Killing event for the liveness failure")
	}
}

// TestKillRestartsAndCounts kills a container's process through the fault
// API and expects a restart with the count and last state recorded.
func TestKillRestartsAndCounts(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	createPod(t, ns, serverPod("victim"))
	p := waitReady(t, ns, "victim", 90*time.Second)
	oldPid := containerPid(t, p, "server")
	if _, err := faults.KillPod(context.Background(), ns, "victim", "server"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "restart after kill", func() (bool, error) {
		p, err := getPod(ns, "victim")
		if err != nil {
			return false, err
		}
		s := p.Status.ContainerStatuses[0]
		term := s.LastTerminationState.Terminated
		return s.RestartCount == 1 && term != nil && term.ExitCode == 137 && s.Ready && podReady(p),
			fmt.Errorf("status %+v", s)
	})
	p, _ = getPod(ns, "victim")
	if newPid := containerPid(t, p, "server"); newPid == oldPid {
		t.Errorf("pid did not change after restart (%d)", newPid)
	}
	if reply, err := redisPing(net.JoinHostPort(p.Status.PodIP, "6379")); err != nil || reply != "+PONG" {
		t.Errorf("PING after restart: %q %v", reply, err)
	}
}

// TestDeleteHonoursGracePeriod deletes a pod that exits on SIGTERM and one
// that ignores it: the first goes at once with its TERM handler run, the
// second only after its grace period, by SIGKILL.
func TestDeleteHonoursGracePeriod(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	polite := shellPod("polite", "trap 'echo got TERM; exit 0' TERM; echo trapped; while true; do sleep 0.2; done")
	stubborn := shellPod("stubborn", "trap '' TERM; echo trapped; while true; do sleep 0.2; done")
	stubborn.Spec.TerminationGracePeriodSeconds = ptrTo(int64(4))
	createPod(t, ns, polite)
	createPod(t, ns, stubborn)
	pp := waitReady(t, ns, "polite", 60*time.Second)
	sp := waitReady(t, ns, "stubborn", 60*time.Second)
	for _, p := range []*corev1.Pod{pp, sp} {
		log := filepath.Join(podDir(p), "logs", "main.log")
		eventually(t, 30*time.Second, p.Name+" to install its TERM trap", func() (bool, error) {
			b, err := os.ReadFile(log)
			return strings.Contains(string(b), "trapped"), err
		})
	}

	// kubectl logs goes through the API server to the agent's kubelet API.
	raw, err := client.CoreV1().Pods(ns).GetLogs("polite", &corev1.PodLogOptions{Container: "main", TailLines: ptrTo(int64(1))}).DoRaw(ctx)
	if err != nil || strings.TrimSpace(string(raw)) != "trapped" {
		t.Errorf("logs through the API server: %q %v", raw, err)
	}

	start := time.Now()
	if err := client.CoreV1().Pods(ns).Delete(ctx, "polite", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, "polite", 30*time.Second)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("polite pod took %s to go", d)
	}
	logs, err := os.ReadFile(filepath.Join(podDir(pp), "logs", "main.log"))
	if err != nil || !strings.Contains(string(logs), "got TERM") {
		t.Errorf("TERM handler did not run: %q %v", logs, err)
	}

	start = time.Now()
	if err := client.CoreV1().Pods(ns).Delete(ctx, "stubborn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, "stubborn", 60*time.Second)
	if d := time.Since(start); d < 3500*time.Millisecond {
		t.Errorf("stubborn pod went after %s, before its 4s grace period", d)
	}
}

// TestPVCDataSurvivesPodDeletion writes through a claim, deletes the pod,
// and reads the data back from a new pod on the same claim.
func TestPVCDataSurvivesPodDeletion(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}},
		},
	}
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	withClaim := func(name, script string) *corev1.Pod {
		p := shellPod(name, script)
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
		return p
	}
	createPod(t, ns, withClaim("writer", "echo precious > /data/file; sleep 3600"))
	w := waitReady(t, ns, "writer", 90*time.Second)
	eventually(t, 30*time.Second, "writer wrote", func() (bool, error) {
		out, err := execIn(containerPid(t, w, "main"), 5*time.Second, "cat", "/data/file")
		return strings.TrimSpace(out) == "precious", err
	})
	if err := client.CoreV1().Pods(ns).Delete(ctx, "writer", metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(1))}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, "writer", 30*time.Second)
	createPod(t, ns, withClaim("reader", "sleep 3600"))
	r := waitReady(t, ns, "reader", 90*time.Second)
	out, err := execIn(containerPid(t, r, "main"), 5*time.Second, "cat", "/data/file")
	if err != nil || strings.TrimSpace(out) != "precious" {
		t.Errorf("reader sees %q, %v", out, err)
	}
}

// TestInitContainers checks that init containers run in order before the
// app container, sharing volumes, and that a failed init container fails a
// pod whose restartPolicy is Never without starting its app container.
func TestInitContainers(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	withInits := func(name string, inits ...string) *corev1.Pod {
		p := shellPod(name, "cat /work/trail; sleep 3600")
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
		p.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		for i, script := range inits {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{
				Name: fmt.Sprintf("init%d", i), Image: shellImage, Command: []string{"sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}},
			})
		}
		return p
	}
	createPod(t, ns, withInits("ordered", "echo first >> /work/trail", "echo second >> /work/trail"))
	waitReady(t, ns, "ordered", 90*time.Second)
	eventually(t, 30*time.Second, "app container output", func() (bool, error) {
		raw, err := client.CoreV1().Pods(ns).GetLogs("ordered", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
		return string(raw) == "first\nsecond\n", fmt.Errorf("log %q %v", raw, err)
	})

	failing := withInits("failing", "exit 3")
	failing.Spec.RestartPolicy = corev1.RestartPolicyNever
	createPod(t, ns, failing)
	eventually(t, 60*time.Second, "pod Failed after its init container failed", func() (bool, error) {
		p, err := getPod(ns, "failing")
		if err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodFailed, fmt.Errorf("phase %s", p.Status.Phase)
	})
	p, _ := getPod(ns, "failing")
	if s := p.Status.ContainerStatuses; len(s) != 1 || s[0].State.Running != nil || s[0].RestartCount != 0 {
		t.Errorf("app container of a failed pod: %+v", s)
	}
	if s := p.Status.InitContainerStatuses; len(s) != 1 || s[0].State.Terminated == nil || s[0].State.Terminated.ExitCode != 3 {
		t.Errorf("init container status: %+v", s)
	}
}

// TestTerminationMessage: what a container writes to its
// terminationMessagePath (the default /dev/termination-log, or a path of
// its own) becomes its terminated state's message, as with the kubelet;
// each container has its own file, and nothing lands in the host's /dev.
// The container's /dev still has the host's devices and the mounts below
// it (pts, shm).
func TestTerminationMessage(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	hostFile := "/dev/termination-log"
	_, hostHadIt := os.Stat(hostFile)
	pod := shellPod("term", `set -e
head -c 4 /dev/urandom > /dev/null
echo x > /dev/null
test -e /dev/pts/ptmx && test -d /dev/shm && test -w /dev/shm
printf 'first: %s' "$(cat /dev/termination-log)" > /dev/termination-log
exit 3`)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: shellImage, Command: []string{"sh", "-c", "echo init-done > /tmp/own-path"},
		TerminationMessagePath: "/tmp/own-path"}}
	createPod(t, ns, pod)
	eventually(t, 90*time.Second, "the container terminated with its message", func() (bool, error) {
		p, err := getPod(ns, "term")
		if err != nil {
			return false, err
		}
		if len(p.Status.ContainerStatuses) == 0 || len(p.Status.InitContainerStatuses) == 0 {
			return false, fmt.Errorf("no statuses yet")
		}
		init, main := p.Status.InitContainerStatuses[0].State.Terminated, p.Status.ContainerStatuses[0].State.Terminated
		if init == nil || main == nil {
			return false, fmt.Errorf("not terminated: %+v %+v", p.Status.InitContainerStatuses[0].State, p.Status.ContainerStatuses[0].State)
		}
		// "first: " with nothing after it: the file starts empty.
		if main.ExitCode != 3 || main.Message != "first: " || init.Message != "init-done\n" {
			t.Fatalf("messages: main %d %q, init %q", main.ExitCode, main.Message, init.Message)
		}
		return true, nil
	})
	if _, err := os.Stat(hostFile); hostHadIt != nil && err == nil {
		t.Errorf("a container's termination message landed in the host's %s", hostFile)
	}
}
