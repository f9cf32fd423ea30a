package controllers

import (
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// keyOf returns the namespaced name of obj.
func keyOf(obj client.Object) client.ObjectKey { return client.ObjectKeyFromObject(obj) }

// resourceMustParse parses a quantity for test fixtures.
func resourceMustParse(s string) resource.Quantity { return resource.MustParse(s) }
