package hub

import "slices"

// devicesBehind lists the registered devices behind a bridge, sorted: the
// ones its own will takes with it.
func (r *VendorRoutes) devicesBehind(gateway string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b := r.bridges[gateway]
	if b == nil {
		return nil
	}
	ids := make([]string, 0, len(b.byIEEE))
	for _, id := range b.byIEEE {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
