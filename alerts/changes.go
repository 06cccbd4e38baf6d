package alerts

// One change per alert per transaction. A transaction may write one alert
// several times: an alert opened and then linked to its building's incident
// in the same message, an incident joined by every member whose alarm a
// batch carries, an incident's linked alerts following its transition. The
// change feed carries each alert once per committed transaction, as it
// stands at the commit, so an alarm storm sends a console one change per
// alert and one per incident per commit instead of one per write (issue
// 15: 2,682 changes in a storm's first second became ≈ 950), and an alert's
// opening change already has what its opening transaction gave it (its
// incident_id). Version counts those changes: it rises once per
// transaction that changes the alert, so a console still sees versions
// 1, 2, 3 … without gaps, and a version it has not seen is a change it
// missed.
//
// Stores keep a PendingChanges per transaction: CreateAlert and UpdateAlert
// Put the alert's change (as the store encodes it), UpdateAlert asks
// WriteVersion which version to write, and the commit appends List to the
// feed, in order, before the transaction commits.

// PendingChange is an alert's change waiting for its transaction's commit:
// the latest write of the alert in the transaction, as the store keeps it
// (C), and the version it was written at.
type PendingChange[C any] struct {
	AlertID int64
	Version int64
	Change  C
}

// PendingChanges are a transaction's changes to the feed, one per alert, in
// the order the alerts were first written in it. The zero value is empty
// and ready to use; it is not safe for concurrent use (a transaction is
// one goroutine's).
type PendingChanges[C any] struct {
	at   map[int64]int // alert ID → index in list
	list []PendingChange[C]
}

// WriteVersion returns the version an update of alert id, made with
// version (the caller's, one more than what it read), is written at: the
// version the alert already has from this transaction if it was written in
// it, else version. A caller that read the alert in this transaction after
// its first write asks for exactly one more than that; any other version is
// returned unchanged, and the store's stale-version check refuses it.
func (p *PendingChanges[C]) WriteVersion(id, version int64) int64 {
	if i, ok := p.at[id]; ok && version == p.list[i].Version+1 {
		return p.list[i].Version
	}
	return version
}

// Put records alert id's change at version: a change the transaction
// already has for it is replaced and keeps its place.
func (p *PendingChanges[C]) Put(id, version int64, change C) {
	if i, ok := p.at[id]; ok {
		p.list[i] = PendingChange[C]{AlertID: id, Version: version, Change: change}
		return
	}
	if p.at == nil {
		p.at = map[int64]int{}
	}
	p.at[id] = len(p.list)
	p.list = append(p.list, PendingChange[C]{AlertID: id, Version: version, Change: change})
}

// Written reports whether alert id was written in this transaction.
func (p *PendingChanges[C]) Written(id int64) bool {
	_, ok := p.at[id]
	return ok
}

// List returns the pending changes, one per alert, in the order the alerts
// were first written.
func (p *PendingChanges[C]) List() []PendingChange[C] { return p.list }

// Len is how many alerts the transaction wrote.
func (p *PendingChanges[C]) Len() int { return len(p.list) }
