package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// printWarnings prints the console's placement warnings about registered
// devices, each line begun with at(w): the device, or FILE:LINE: for an
// imported row, so an editor can jump to it.
func printWarnings(w io.Writer, ws []devices.Warning, at func(devices.Warning) string) {
	for _, x := range ws {
		fmt.Fprintf(w, "%swarning: %s\n", at(x), warningText(x))
	}
}

// warningText says a placement warning in English, from its code and
// fields (the console's page says it in Chinese or English).
func warningText(w devices.Warning) string {
	switch w.Code {
	case devices.WarnUnitMissing:
		switch w.Placed {
		case devices.PlacedJoined:
			return fmt.Sprintf("registered without its unit; placed in household %s of %s, %s, as its other devices give it", w.Household, w.Unit, w.Building)
		case devices.PlacedAmbiguous:
			return fmt.Sprintf("registered without its unit; not placed: %s of %s each have a household %s, so it stands as a household of its own — give its unit", strings.Join(w.Units, ", "), w.Building, w.Household)
		default:
			return fmt.Sprintf("registered without its unit, though %s's devices name units; no unit has a household %s, so it stands as a household of its own — give its unit", w.Building, w.Household)
		}
	case devices.WarnFloorMissing:
		if w.Floor != "" {
			return fmt.Sprintf("registered without its floor; household %s is shown on floor %s, as its other devices give it", w.Household, w.Floor)
		}
		return fmt.Sprintf("registered without its floor, though %s's devices name floors; household %s has no floor — give it", w.Building, w.Household)
	case devices.WarnFloorDiffers:
		return fmt.Sprintf("floor %s differs from floor %s of device %s in the same household %s; the building view shows the household on one floor — correct the wrong one", w.Floor, w.OtherFloor, w.Other, w.Household)
	}
	return fmt.Sprintf("%s (household %s, %s)", w.Code, w.Household, w.Building)
}

// deviceAt begins a warning's line with its device.
func deviceAt(w devices.Warning) string { return "device " + w.ID + ": " }
