package accounts_test

import (
	"context"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
)

func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()
	st := accountstest.NewAccounts()
	if created, err := accounts.EnsureAdmin(ctx, st, ""); created || err != nil {
		t.Fatalf("empty password: created=%v err=%v", created, err)
	}
	if n, _ := st.CountUsers(ctx); n != 0 {
		t.Fatalf("empty password created %d users", n)
	}
	if created, err := accounts.EnsureAdmin(ctx, st, "s3cret"); !created || err != nil {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	u, hash, err := st.UserByName(ctx, "admin")
	if err != nil || u.Role != accounts.RoleAdmin || !accounts.CheckPassword(hash, "s3cret") {
		t.Fatalf("admin = %+v, %v; password matches: %v", u, err, accounts.CheckPassword(hash, "s3cret"))
	}
	if created, err := accounts.EnsureAdmin(ctx, st, "other"); created || err != nil {
		t.Fatalf("second start: created=%v err=%v", created, err)
	}
	if _, hash, _ := st.UserByName(ctx, "admin"); !accounts.CheckPassword(hash, "s3cret") {
		t.Error("second start changed the admin password")
	}
}
