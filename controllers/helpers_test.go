package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// keyOf returns the namespaced name of obj.
func keyOf(obj client.Object) client.ObjectKey { return client.ObjectKeyFromObject(obj) }
