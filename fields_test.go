package shouwang_test

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ownFields are the packages held to "a type does not read another type's
// unexported fields": each part of the engine talks to another through
// its methods (Alerting.Update is the one door into alerting), so a part
// can change inside without the others noticing.
var ownFields = []string{"hub"}

// TestTypesReadOnlyTheirOwnFields: in the packages of ownFields, an
// unexported field of a struct type with methods is read only by that
// type's methods and by the functions beside it in the file that declares
// it (its constructor). Records — struct types without methods, such as a
// queued message — are plain data anyone in the package may read. Test
// files are not held to it.
func TestTypesReadOnlyTheirOwnFields(t *testing.T) {
	for _, dir := range ownFields {
		for _, v := range foreignFieldReads(t, dir) {
			t.Errorf("%s (add a method to the type that owns the field)", v)
		}
	}
}

// foreignFieldReads type-checks the package in dir (without its tests)
// against the export data `go list -export` gives and returns each read of
// another type's unexported field.
func foreignFieldReads(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", "./"+dir).Output()
	if err != nil {
		t.Fatalf("go list -export ./%s: %v", dir, err)
	}
	exports := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, e, _ := strings.Cut(l, " ")
		exports[p] = e
	}
	fset := token.NewFileSet()
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})}
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Defs: map[*ast.Ident]types.Object{}}
	if _, err := conf.Check(dir, fset, files, info); err != nil {
		t.Fatalf("type-check %s: %v", dir, err)
	}
	var found []string
	for _, f := range files {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			recv := receiver(info, fd)
			ast.Inspect(fd, func(n ast.Node) bool {
				se, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				sel := info.Selections[se]
				if sel == nil || sel.Kind() != types.FieldVal || sel.Obj().Exported() {
					return true
				}
				owner := fieldOwner(sel)
				switch {
				case owner == nil, recv != nil && recv.Origin() == owner.Origin():
				case types.NewMethodSet(types.NewPointer(owner.Origin())).Len() == 0: // a record
				case recv == nil && fset.File(owner.Obj().Pos()) == fset.File(se.Pos()): // its constructor
				default:
					found = append(found, fset.Position(se.Sel.Pos()).String()+": "+fd.Name.Name+" reads "+
						owner.Obj().Name()+"."+sel.Obj().Name())
				}
				return true
			})
		}
	}
	return found
}

// receiver is the named type a method is declared on, or nil for a
// function.
func receiver(info *types.Info, fd *ast.FuncDecl) *types.Named {
	if fd.Recv == nil {
		return nil
	}
	rt := info.Defs[fd.Name].(*types.Func).Type().(*types.Signature).Recv().Type()
	if p, ok := rt.(*types.Pointer); ok {
		rt = p.Elem()
	}
	n, _ := rt.(*types.Named)
	return n
}

// fieldOwner is the named struct type that declares the selected field,
// following embedded fields.
func fieldOwner(sel *types.Selection) *types.Named {
	var owner *types.Named
	t := sel.Recv()
	for _, i := range sel.Index() {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			owner = n
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			return nil
		}
		t = st.Field(i).Type()
	}
	return owner
}
