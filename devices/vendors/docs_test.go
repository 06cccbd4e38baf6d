package vendors

import (
	"os"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
)

// TestProtocolDocListsEveryModel keeps docs/protocol.md's models table
// true: every model the codec knows is in it.
func TestProtocolDocListsEveryModel(t *testing.T) {
	raw, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, m := range zigbee2mqtt.Models() {
		if !strings.Contains(doc, "| `"+m.ID+"` |") {
			t.Errorf("docs/protocol.md does not list model %s", m.ID)
		}
	}
}
