package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
)

func (c *cli) login(args []string) error {
	fs := c.newFlags("login", "login -user NAME [-password-stdin] [-print-token]")
	user := fs.String("user", "", "username (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	printToken := fs.Bool("print-token", false, "print only the token on stdout (for scripts); it is saved as well")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return usagef("login: -user is required")
	}
	pw, err := c.readPassword("login", *fromStdin)
	if err != nil {
		return err
	}
	var resp struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		User      struct {
			Username string `json:"username"`
			Role     string `json:"role"`
		} `json:"user"`
	}
	body := jsonBody(map[string]string{"username": *user, "password": pw})
	if err := c.call(request{method: http.MethodPost, path: "/api/v1/login", body: body, contentType: "application/json"}, &resp); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	path, err := c.cfgFile()
	if err != nil {
		return err
	}
	if err := writeSecret(path, []byte(resp.Token+"\n")); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if *printToken {
		fmt.Fprintln(c.stdout, resp.Token)
		return nil
	}
	fmt.Fprintf(c.stdout, "Logged in to %s as %s (%s). Token saved to %s; it expires %s.\n",
		c.server, resp.User.Username, resp.User.Role, path, resp.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return nil
}

// readPassword reads the password from the first line of stdin, or prompts
// for it without echo when stdin is a terminal. cmd names the command in
// errors.
func (c *cli) readPassword(cmd string, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("%s: no password on stdin", cmd)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !c.stdinIsTerminal() {
		return "", usagef("%s: stdin is not a terminal; pass the password with -password-stdin", cmd)
	}
	f := c.stdin.(*os.File)
	fmt.Fprint(c.stderr, "Password: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// stdinIsTerminal reports whether a person can be prompted on stdin.
func (c *cli) stdinIsTerminal() bool {
	f, ok := c.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeSecret writes data readable by its owner only.
func writeSecret(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an older file may have been wider
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *cli) logout(args []string) error {
	if _, err := parse(c.newFlags("logout", "logout"), args); err != nil {
		return err
	}
	if err := c.call(request{method: http.MethodPost, path: "/api/v1/logout", auth: true}, nil); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			return fmt.Errorf("logout: %w", err)
		}
	}
	if path, err := c.cfgFile(); err == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("forget token: %w", err)
		}
	}
	fmt.Fprintln(c.stdout, "Logged out.")
	return nil
}
