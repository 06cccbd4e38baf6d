package main

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

func (c *cli) users(args []string) error {
	if len(args) == 0 {
		return usagef("users: missing subcommand (list, create, disable, enable, reset-password)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return c.usersList(args)
	case "create":
		return c.usersCreate(args)
	case "disable":
		return c.usersSetDisabled(true, args)
	case "enable":
		return c.usersSetDisabled(false, args)
	case "reset-password":
		return c.usersResetPassword(args)
	}
	return usagef("users: unknown subcommand %q", sub)
}

type userList struct {
	Users []accounts.User `json:"users"`
}

func (c *cli) listUsers() ([]accounts.User, error) {
	var resp userList
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/users", auth: true}, &resp); err != nil {
		return nil, err
	}
	return resp.Users, nil
}

func (c *cli) usersList(args []string) error {
	fs := c.newFlags("users list", "users list [-json]")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	us, err := c.listUsers()
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(userList{Users: us})
	}
	var t table
	t.add("ID", "USERNAME", "ROLE", "STATUS", "CREATED")
	for _, u := range us {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		created := "-"
		if !u.CreatedAt.IsZero() {
			created = u.CreatedAt.Local().Format("2006-01-02 15:04")
		}
		t.add(strconv.FormatInt(u.ID, 10), u.Username, string(u.Role), status, created)
	}
	return t.print(c.stdout)
}

func (c *cli) usersCreate(args []string) error {
	fs := c.newFlags("users create", "users create -username NAME -role operator|supervisor|installer|admin|gridworker [-grids COMMUNITY/GRID,…] [-phone N] [-password-stdin]")
	username := fs.String("username", "", "the new account's name (required)")
	role := fs.String("role", "", "operator, supervisor, installer, admin or gridworker (required)")
	gridList := fs.String("grids", "", "a grid worker's grids, comma-separated, each community/grid (required for gridworker)")
	phone := fs.String("phone", "", "the person's phone number")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *username == "" || *role == "" {
		return usagef("users create: -username and -role are required")
	}
	if !accounts.Role(*role).Valid() {
		return usagef("users create: -role %q: want operator, supervisor, installer, admin or gridworker", *role)
	}
	var grids []devices.GridRef
	for ref := range strings.SplitSeq(*gridList, ",") {
		if ref = strings.TrimSpace(ref); ref == "" {
			continue
		}
		g, err := devices.ParseGridRef(ref)
		if err != nil {
			return usagef("users create: -grids: %v", err)
		}
		grids = append(grids, g)
	}
	if accounts.Role(*role) == accounts.RoleGridWorker && len(grids) == 0 {
		return usagef("users create: -grids is required for a grid worker (e.g. -grids 阳光社区/第一网格)")
	}
	pw, err := c.readPassword("users create", *fromStdin)
	if err != nil {
		return err
	}
	var resp struct {
		User accounts.User `json:"user"`
	}
	body := jsonBody(map[string]any{"username": *username, "role": *role, "password": pw, "phone": *phone, "grids": grids})
	if err := c.call(request{method: http.MethodPost, path: "/api/v1/users", body: body, contentType: "application/json", auth: true}, &resp); err != nil {
		return fmt.Errorf("users create: %w", err)
	}
	fmt.Fprintf(c.stdout, "Created user %s (%s), id %d.\n", resp.User.Username, resp.User.Role, resp.User.ID)
	return nil
}

// findUser resolves a username, or a numeric id, to an account.
func (c *cli) findUser(ref string) (accounts.User, error) {
	us, err := c.listUsers()
	if err != nil {
		return accounts.User{}, err
	}
	for _, u := range us {
		if u.Username == ref {
			return u, nil
		}
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, u := range us {
			if u.ID == id {
				return u, nil
			}
		}
	}
	return accounts.User{}, fmt.Errorf("no user %q (see hubctl users list)", ref)
}

func (c *cli) usersSetDisabled(disabled bool, args []string) error {
	name, verb := "users enable", "enable"
	if disabled {
		name, verb = "users disable", "disable"
	}
	pos, err := parse(c.newFlags(name, name+" USERNAME|ID"), args, "USERNAME")
	if err != nil {
		return err
	}
	u, err := c.findUser(pos[0])
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	path := "/api/v1/users/" + strconv.FormatInt(u.ID, 10) + "/" + verb
	if err := c.call(request{method: http.MethodPost, path: path, auth: true}, nil); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if disabled {
		fmt.Fprintf(c.stdout, "Disabled user %s: it can no longer log in, and its sessions and tokens stop working.\n", u.Username)
	} else {
		fmt.Fprintf(c.stdout, "Enabled user %s.\n", u.Username)
	}
	return nil
}

func (c *cli) usersResetPassword(args []string) error {
	fs := c.newFlags("users reset-password", "users reset-password USERNAME|ID [-password-stdin]")
	fromStdin := fs.Bool("password-stdin", false, "read the new password from the first line of stdin")
	pos, err := parse(fs, args, "USERNAME")
	if err != nil {
		return err
	}
	u, err := c.findUser(pos[0])
	if err != nil {
		return fmt.Errorf("users reset-password: %w", err)
	}
	pw, err := c.readPassword("users reset-password", *fromStdin)
	if err != nil {
		return err
	}
	path := "/api/v1/users/" + strconv.FormatInt(u.ID, 10) + "/password"
	if err := c.call(request{method: http.MethodPost, path: path, body: jsonBody(map[string]string{"password": pw}), contentType: "application/json", auth: true}, nil); err != nil {
		return fmt.Errorf("users reset-password: %w", err)
	}
	// The hub ended the account's sessions and tokens, all but the one this
	// command used if the account is the caller's own.
	var me struct {
		User accounts.User `json:"user"`
	}
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/me", auth: true}, &me); err == nil && me.User.ID == u.ID {
		fmt.Fprintf(c.stdout, "Set a new password for %s. Your other sessions and tokens have ended; this one still works.\n", u.Username)
		return nil
	}
	fmt.Fprintf(c.stdout, "Set a new password for %s. Its sessions and tokens have ended: it must log in again.\n", u.Username)
	return nil
}

// bootstrapAdmin creates the first admin account directly in the hub's
// SQLite store, without a running hub or a login: for a fresh install, as
// an alternative to HUB_ADMIN_PASSWORD.
func (c *cli) bootstrapAdmin(args []string) error {
	fs := c.newFlags("bootstrap-admin", "bootstrap-admin [-data DIR] [-db PATH] < password")
	dataDir := fs.String("data", envOr("HUB_DATA_DIR", "./data"), "the hub's data directory (default $HUB_DATA_DIR or ./data)")
	db := fs.String("db", os.Getenv("HUB_DB"), "the store: a SQLite file or postgres://… (default $HUB_DB or DIR/hub.db)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	dsn := cmp.Or(*db, filepath.Join(*dataDir, "hub.db"))
	pw, err := c.readPassword("bootstrap-admin", !c.stdinIsTerminal())
	if err != nil {
		return err
	}
	if err := accounts.ValidPassword(pw); err != nil {
		return fmt.Errorf("bootstrap-admin: %s", shouwang.ErrorMessage(err))
	}
	st, err := sqlstore.Open(dsn, nil)
	if err != nil {
		return fmt.Errorf("bootstrap-admin: %w", err)
	}
	defer st.Close()
	created, err := accounts.EnsureAdmin(c.ctx, st, pw)
	if err != nil {
		return fmt.Errorf("bootstrap-admin: %w", err)
	}
	if !created {
		fmt.Fprintf(c.stdout, "%s already has accounts; nothing changed. An admin can reset a password with: hubctl users reset-password NAME\n", redacted(dsn))
		return nil
	}
	fmt.Fprintf(c.stdout, "Created the account %q (admin) in %s. Log in with: hubctl login -user %s\n",
		accounts.AdminUsername, redacted(dsn), accounts.AdminUsername)
	return nil
}
