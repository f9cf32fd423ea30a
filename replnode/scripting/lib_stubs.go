package scripting

import lua "github.com/yuin/gopher-lua"

// struct is present as an empty table until its Go port lands: scripts that test for them see the globals Redis defines.
func openStruct(L *lua.LState) *lua.LTable { return L.NewTable() }
