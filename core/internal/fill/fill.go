// Package fill sets every exported field of a value to a non-zero value, so
// a test can check that a hand-written conversion covers every field of a
// struct, including fields added later.
package fill

import (
	"encoding/json"
	"reflect"
	"testing"
)

// All fills *ptr: strings "x", booleans true, numbers 7, one-element slices,
// allocated pointers and nested structs, recursively.
func All(ptr any) {
	value(reflect.ValueOf(ptr).Elem())
}

func value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		value(s.Index(0))
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		value(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				value(v.Field(i))
			}
		}
	}
}

// SameJSON fails t unless a and b encode to the same JSON document (object
// key order aside).
func SameJSON(t testing.TB, a, b any) {
	t.Helper()
	da, db := decoded(t, a), decoded(t, b)
	if !reflect.DeepEqual(da, db) {
		t.Errorf("JSON differs:\n%v\n%v", da, db)
	}
}

func decoded(t testing.TB, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
