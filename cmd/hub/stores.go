package main

import (
	"context"

	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// mainStore adapts the SQL store to the hub's view of a transaction: the
// hub sees its IngestTx interface, the store hands out its concrete *Tx.
type mainStore struct{ *sqlstore.Store }

// Tx runs fn in one store transaction.
func (s mainStore) Tx(ctx context.Context, fn func(hub.IngestTx) error) error {
	return s.Store.Tx(ctx, func(tx *sqlstore.Tx) error { return fn(tx) })
}
