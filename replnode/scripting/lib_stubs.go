package scripting

import lua "github.com/yuin/gopher-lua"

// struct and cmsgpack are present as empty tables until their Go
// ports land: scripts that test for them see the globals Redis defines.
func openStruct(L *lua.LState) *lua.LTable   { return L.NewTable() }
func openCmsgpack(L *lua.LState) *lua.LTable { return L.NewTable() }
