package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserOperatorSafety tries the console as a new operator would, in
// Chromium against the real hub: only the actions the alert's state allows
// are offered; resolving has no default outcome (a click without choosing
// one is refused on the page and nothing is resolved); the keyboard's
// dispatch and resolve ask for confirmation (Escape cancels, Enter
// confirms); and the overview's 60-second share and its median, which says
// it counts accepted alerts only, are redrawn in the other language.
func TestBrowserOperatorSafety(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "op1", accounts.RoleOperator, consolePassword)
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, browserDevices()[:1]))
	op := newPage(t, base, "op1")
	op.login("op1", consolePassword)

	if _, err := s.Press("sos-0001"); err != nil {
		t.Fatal(err)
	}
	op.waitJS("the press in the queue", exists(`#queue tr.alert-row[data-kind="sos"]`), waitUI)
	id := alertIDOf(t, evalJS[string](op, `document.querySelector('#queue tr.alert-row').dataset.alertId`))
	op.click(rowSel(id))
	op.waitJS("the detail", fmt.Sprintf(`document.querySelector('#alert-detail').dataset.alertId === '%d' && document.querySelector('#alert-detail').dataset.state === 'new'`, id), waitUI)

	offered := func() string {
		return evalJS[string](op, `['accept', 'dispatch', 'resolve', 'close'].filter(a => {
			const b = document.querySelector('#btn-' + a);
			return b.offsetParent !== null; }).join(',')`)
	}
	if got := offered(); got != "accept" {
		t.Errorf("a new alert offers %q; want accept only", got)
	}
	// A stray key on a new alert: r does nothing.
	op.do("press r", chromedp.KeyEvent("r"))
	if shown := evalJS[bool](op, `!document.querySelector('#confirm').hidden`); shown {
		t.Error("r on a new alert asked to resolve it")
	}
	op.do("press a", chromedp.KeyEvent("a"))
	op.waitJS("accepted", `document.querySelector('#alert-detail').dataset.state === 'accepted'`, waitUI)
	if got := offered(); got != "dispatch,resolve" {
		t.Errorf("an accepted alert offers %q; want dispatch,resolve", got)
	}

	// No default outcome: resolving without choosing is refused.
	if v := evalJS[string](op, `document.querySelector('#resolve-outcome').value`); v != "" {
		t.Errorf("the outcome is preset to %q", v)
	}
	op.click("#btn-resolve")
	op.waitJS("the page asking for an outcome", `!document.querySelector('#toast').hidden && document.querySelector('#toast').textContent.includes('处置结果')`, waitUI)
	if st := getAlert(t, base, admin, id).State; st != alerts.StateAccepted {
		t.Fatalf("resolve without an outcome left the alert %s", st)
	}

	// The keyboard asks first: Escape cancels, Enter confirms.
	op.choose("#resolve-outcome", string(alerts.OutcomeFalseAlarm))
	evalJS[bool](op, `(document.activeElement.blur(), true)`) // keys typed into the list choose in it
	op.do("press r", chromedp.KeyEvent("r"))
	op.waitJS("the confirmation", `!document.querySelector('#confirm').hidden && document.querySelector('#confirm-text').textContent.includes('误报')`, waitUI)
	op.screenshot("confirm-resolve")
	op.do("press Escape", chromedp.KeyEvent("\x1b"))
	op.waitJS("the confirmation gone", `document.querySelector('#confirm').hidden`, waitUI)
	if st := getAlert(t, base, admin, id).State; st != alerts.StateAccepted {
		t.Fatalf("a cancelled confirmation left the alert %s", st)
	}
	op.do("press r", chromedp.KeyEvent("r"))
	op.waitJS("the confirmation again", `!document.querySelector('#confirm').hidden`, waitUI)
	op.do("press Enter", chromedp.KeyEvent("\r"))
	op.waitJS("resolved", `document.querySelector('#alert-detail').dataset.state === 'resolved'`, waitUI)
	if a := getAlert(t, base, admin, id); a.State != alerts.StateResolved || a.Outcome != alerts.OutcomeFalseAlarm {
		t.Fatalf("after confirming: %s %s", a.State, a.Outcome)
	}
	if got := offered(); got != "" {
		t.Errorf("an operator is offered %q on a resolved alert; want nothing", got)
	}

	// The overview's figures follow a language switch.
	op.click(`[data-view="overview"]`)
	op.waitJS("today's share", `/100\.0%/.test(document.querySelector('#share-today').textContent) && document.querySelector('#share-today-medians').textContent.includes('仅计已接警的 1 条')`, waitUI)
	op.click("#lang-toggle")
	op.waitJS("the share in English", `document.querySelector('#share-today-detail').textContent.includes('1 of 1 accepted within 60 s') &&
		document.querySelector('#share-today-medians').textContent.includes('of the 1 accepted alerts only')`, waitUI)
}
