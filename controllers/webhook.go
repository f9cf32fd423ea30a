package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	replnodev1alpha1 "github.com/replnode/replnode/api/v1alpha1"
	"github.com/replnode/replnode/replnode/config"
)

// ------ ADMISSION: SPEC.CONFIG AND SPEC.USERS CHECKED BY THE NODE'S OWN PARSERS ------
//
// The CRD's CEL rules check the shape of spec.config (directive names, single
// lines, operator-owned directives); only the node knows whether a value is
// one it accepts. The validating webhook renders the members' redis.conf
// exactly as the ConfigMap will hold it (buildRedisConf) and loads it with
// replnode/config, the parser the node starts with, so `kubectl apply`
// refuses what would crash-loop the members, with the node's own message.
// The rules of spec.users go through the node's ACL parser and command
// table the same way (validateUsers, users.go).
//
// The webhook is an early warning, not a guarantee: its failurePolicy is
// Ignore (the chart's default), so an operator that is down or a group the
// operator does not watch never blocks the API; a bad value that gets in is
// reported by the MemberFailing condition and healed by fixing the spec
// (selfheal.go).

// ConfigValidator is the validating webhook of ReplicationGroups.
type ConfigValidator struct{}

// WebhookPath is where the manager serves the webhook (controller-runtime's
// path for the type; the chart's ValidatingWebhookConfiguration uses it).
const WebhookPath = "/validate-replnode-io-v1alpha1-replicationgroup"

// +kubebuilder:webhook:path=/validate-replnode-io-v1alpha1-replicationgroup,mutating=false,failurePolicy=ignore,sideEffects=None,groups=replnode.io,resources=replicationgroups,verbs=create;update,versions=v1alpha1,name=vreplicationgroup.replnode.io,admissionReviewVersions=v1,timeoutSeconds=5

// SetupWebhookWithManager registers the webhook with the manager's server.
func SetupWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &replnodev1alpha1.ReplicationGroup{}).
		WithValidator(ConfigValidator{}).
		Complete()
}

// ValidateCreate checks the configuration and the users of a new group.
func (ConfigValidator) ValidateCreate(_ context.Context, rg *replnodev1alpha1.ReplicationGroup) (admission.Warnings, error) {
	warnings, err := validateRedisConf(rg)
	if err != nil {
		return warnings, err
	}
	return warnings, usersInvalid(rg)
}

// ValidateUpdate checks the configuration when the update changes what
// feeds redis.conf, and the users when they change; an update that leaves
// them as they were (a label, spec.master, a scale) is never refused for a
// configuration stored before the webhook.
func (ConfigValidator) ValidateUpdate(_ context.Context, old, rg *replnodev1alpha1.ReplicationGroup) (admission.Warnings, error) {
	var warnings admission.Warnings
	if buildRedisConf(old) != buildRedisConf(rg) {
		var err error
		if warnings, err = validateRedisConf(rg); err != nil {
			return warnings, err
		}
	}
	if equality.Semantic.DeepEqual(old.Spec.Users, rg.Spec.Users) {
		return warnings, nil
	}
	return warnings, usersInvalid(rg)
}

// usersInvalid is the Invalid error for spec.users rules the node's ACL
// parser refuses (users.go), nil when it accepts them all.
func usersInvalid(rg *replnodev1alpha1.ReplicationGroup) error {
	errs := validateUsers(rg.Spec.Users)
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(replnodev1alpha1.GroupVersion.WithKind("ReplicationGroup").GroupKind(), rg.Name, errs)
}

// ValidateDelete allows every deletion.
func (ConfigValidator) ValidateDelete(context.Context, *replnodev1alpha1.ReplicationGroup) (admission.Warnings, error) {
	return nil, nil
}

// validateRedisConf loads the group's redis.conf with the node's parser and
// turns its first error into a field error on the spec.config key that
// produced the line (or spec, for a line the operator derives from other
// fields). Directives the node accepts but ignores come back as warnings.
func validateRedisConf(rg *replnodev1alpha1.ReplicationGroup) (admission.Warnings, error) {
	c := config.Default()
	err := c.LoadString(buildRedisConf(rg))
	warnings := admission.Warnings(c.Warnings)
	if err == nil {
		return warnings, nil
	}
	var fe *config.FatalError
	if !errors.As(err, &fe) {
		return warnings, apierrors.NewInvalid(replnodev1alpha1.GroupVersion.WithKind("ReplicationGroup").GroupKind(), rg.Name,
			field.ErrorList{field.Invalid(field.NewPath("spec", "config"), "", err.Error())})
	}
	directive := strings.ToLower(strings.Fields(fe.Text + " ")[0])
	var fieldErr *field.Error
	if v, ok := rg.Spec.Config[directive]; ok {
		fieldErr = field.Invalid(field.NewPath("spec", "config").Key(directive), string(v), fe.Problem)
	} else {
		fieldErr = field.Invalid(field.NewPath("spec"), fe.Text, fmt.Sprintf("the generated redis.conf line %q is refused by the node: %s", fe.Text, fe.Problem))
	}
	return warnings, apierrors.NewInvalid(replnodev1alpha1.GroupVersion.WithKind("ReplicationGroup").GroupKind(), rg.Name, field.ErrorList{fieldErr})
}
