package failover

import "time"

// ------ ONE RECONCILE PASS ------

// Pass is everything one reconcile pass must do about failover.
type Pass struct {
	// Actions are to be run in order; stop at the first error or failed VerifyRole.
	Actions []Action
	// Switchover is the switchover state to save once all Actions ran.
	Switchover SwitchoverState
	// Condition is the MasterAvailable condition to set.
	Condition Condition
	// SwitchoverCondition describes the requested switchover, when one was
	// requested or under way (Type "SwitchoverReady"); nil otherwise.
	SwitchoverCondition *Condition
	// RequeueAfter asks for the next pass after this long (0: the normal period).
	RequeueAfter time.Duration
	// Decision is the automatic failover decision, when one was made.
	Decision *Decision
	// Step is the switchover step, when one was taken.
	Step *SwitchoverStep
}

// ConditionSwitchoverReady is the condition type of Pass.SwitchoverCondition.
const ConditionSwitchoverReady = "SwitchoverReady"

// PlanPass combines the switchover state machine and the failover policy into
// the one call a reconciler makes per pass. A switchover under way owns the
// pass. A requested switchover (requested names a member other than the
// current master) is started when StepSwitchover accepts it; when it refuses
// (the master is down, a failover is in flight, the target is not ready) the
// refusal is reported and Decide runs, so a failed master is still replaced.
func PlanPass(obs Observation, state SwitchoverState, requested string) Pass {
	var refused *SwitchoverStep
	if state.Active() || (requested != "" && requested != obs.Status.CurrentMaster) {
		step := StepSwitchover(state, requested, obs)
		if step.Result != SwitchoverRejected {
			masterCond := Condition{Type: ConditionMasterAvailable, Status: "Unknown",
				Reason: step.Reason, Message: step.Message}
			if step.Result == SwitchoverCompleted || step.Result == SwitchoverAborted {
				masterCond.Status = "True"
			}
			return Pass{Actions: step.Actions, Switchover: step.Next, Condition: masterCond,
				SwitchoverCondition: switchoverCondition(step), RequeueAfter: step.RequeueAfter, Step: &step}
		}
		refused = &step
	}
	d := Decide(obs, SwitchoverState{})
	p := Pass{Actions: d.Actions, Condition: d.Condition(), RequeueAfter: d.RequeueAfter, Decision: &d}
	if refused != nil {
		p.Step = refused
		p.SwitchoverCondition = switchoverCondition(*refused)
		p.Switchover = refused.Next
		if p.RequeueAfter == 0 {
			// Retry the refused switchover: after its backoff, or soon, since
			// most refusals are transient.
			p.RequeueAfter = refused.RequeueAfter
			if p.RequeueAfter == 0 {
				p.RequeueAfter = 10 * time.Second
			}
		}
	}
	return p
}

// switchoverCondition renders a switchover step as the SwitchoverReady
// condition: True when done, False when refused or aborted, Unknown while
// under way.
func switchoverCondition(step SwitchoverStep) *Condition {
	status := "Unknown"
	switch step.Result {
	case SwitchoverCompleted, SwitchoverNothing:
		status = "True"
	case SwitchoverRejected, SwitchoverAborted:
		status = "False"
	}
	return &Condition{Type: ConditionSwitchoverReady, Status: status, Reason: step.Reason, Message: step.Message}
}
