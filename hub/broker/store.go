package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.etcd.io/bbolt"

	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// store is a mochi storage hook over bbolt. mochi ships a bolt hook, but it
// does not save an inflight message's packet ID (so after a restart every
// stored message collapses onto ID 0 and all but one are lost), it saves
// refused subscriptions, and it commits (fsyncs) once per call. This one
// keeps mochi's record types, and:
//   - writes that must be durable before the broker answers (a message
//     stored for a subscriber, a session, a subscription) wait for their
//     commit; deletes and other bookkeeping do not, since replaying them
//     after a crash only repeats a delivery;
//   - one writer goroutine commits whatever is queued in one transaction
//     (group commit), so many devices publishing at once share an fsync;
//   - a message already stored is not written again when mochi resends it,
//     and the PUBACK mochi records for an incoming QoS 1 publish (deleted
//     in the same call) is never written;
//   - sessions that end with the connection (clean, or MQTT 5 with no
//     expiry) are not stored at all.
type store struct {
	mqtt.HookBase
	path string
	log  *slog.Logger

	db       *bbolt.DB
	ops      chan storeOp
	stopped  chan struct{}
	failures atomic.Int64 // failed commits, read by policy.OnPublish
	// strays counts messages not stored because mochi offered them to a
	// connection whose session another connection is taking over (see
	// OnQosPublish); read by policy.OnPublish.
	strays  atomic.Int64
	failing atomic.Pointer[storeFailure]
	limited *limitlog.Logger
	// dropRetained, if set, says which stored retained messages to delete
	// at start instead of restoring them.
	dropRetained func(topic string) bool

	mu       sync.Mutex
	closed   bool
	inflight map[string]stored   // inflight key -> what is stored
	acks     map[string]struct{} // inflight keys of PUBACKs not written
	// lastOrder is the order stamp of the last message stored (see
	// stored.order).
	lastOrder int64
}

// stored is an inflight message in the store: a fingerprint of it, and its
// order stamp, which grows with every message stored (across restarts) and
// is kept on disk in the record's Sent field. mochi resends a session's
// messages sorted by their Created time in seconds, truncated to 16 bits,
// with an unstable sort, so messages of one second come back in any order;
// the stamps put them back in the order they were first sent (MQTT 3.1.1
// 4.6: a resend keeps the original order) — see resendInOrder.
type stored struct {
	fp    uint64
	order int64
}

var (
	bucketClients  = []byte("clients")
	bucketSubs     = []byte("subscriptions")
	bucketInflight = []byte("inflight")
	bucketRetained = []byte("retained")
)

// storeOp is one queued change. A nil val deletes key (or, with prefix, all
// keys starting with it). A non-nil done receives the commit's result.
type storeOp struct {
	bucket []byte
	key    []byte
	val    []byte
	prefix bool
	done   chan error
}

// maxGroup bounds one transaction.
const maxGroup = 4096

var errStoreClosed = errors.New("broker store closed")

// storeFailure describes commits that fail: since when, and the last error.
type storeFailure struct {
	since time.Time
	err   string
}

func openStore(path string, log *slog.Logger) (*store, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("open broker store %s: locked by another process", path)
		}
		return nil, fmt.Errorf("open broker store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketClients, bucketSubs, bucketInflight, bucketRetained} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init broker store: %w", err)
	}
	s := &store{
		path: path, log: log, db: db,
		ops: make(chan storeOp, maxGroup), stopped: make(chan struct{}),
		inflight: map[string]stored{}, acks: map[string]struct{}{},
		limited: limitlog.New(log, refusalLogEvery, time.Now),
	}
	go s.writer()
	return s, nil
}

// ID names the hook in mochi's logs.
func (s *store) ID() string { return "shouwang-bbolt" }

// Provides lists the hook methods mochi should call.
func (s *store) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnSessionEstablish,
		mqtt.OnDisconnect,
		mqtt.OnSubscribed,
		mqtt.OnUnsubscribed,
		mqtt.OnRetainMessage,
		mqtt.OnWillSent,
		mqtt.OnPacketSent,
		mqtt.OnQosPublish,
		mqtt.OnQosComplete,
		mqtt.OnQosDropped,
		mqtt.OnClientExpired,
		mqtt.OnRetainedExpired,
		mqtt.StoredClients,
		mqtt.StoredInflightMessages,
		mqtt.StoredRetainedMessages,
		mqtt.StoredSubscriptions,
	}, []byte{b})
}

// Init is a no-op: openStore did the work, so its errors reach New.
func (s *store) Init(any) error { return nil }

// Stop commits what is queued and closes the database. mochi calls it after
// every client has stopped; later hook calls are dropped.
func (s *store) Stop() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	<-s.stopped
	return s.db.Close()
}

// writer commits queued operations in groups, in the order they were queued.
func (s *store) writer() {
	defer close(s.stopped)
	group := make([]storeOp, 0, maxGroup)
	for op := range s.ops {
		group = append(group[:0], op)
	gather:
		for len(group) < maxGroup {
			select {
			case op, ok := <-s.ops:
				if !ok {
					break gather
				}
				group = append(group, op)
			default:
				break gather
			}
		}
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for _, op := range group {
				if err := apply(tx, op); err != nil {
					return err
				}
			}
			return nil
		})
		s.noteCommit(err, len(group))
		for _, op := range group {
			if op.done != nil {
				op.done <- err
			}
		}
		clear(group)
	}
}

// noteCommit keeps the failure state readiness reads, and logs failures at
// a bounded rate.
func (s *store) noteCommit(err error, ops int) {
	if err == nil {
		if f := s.failing.Swap(nil); f != nil {
			s.log.Info("broker store commits recovered", "failed_for", time.Since(f.since).Round(time.Millisecond))
		}
		return
	}
	s.failures.Add(1)
	since := time.Now()
	if f := s.failing.Load(); f != nil {
		since = f.since
	}
	s.failing.Store(&storeFailure{since: since, err: err.Error()})
	s.limited.Error("commit", "broker store commit failed; publishes are not acknowledged until it works", "ops", ops, "err", err)
}

// failure returns a description of failing commits, or "".
func (s *store) failure() string {
	if f := s.failing.Load(); f != nil {
		return fmt.Sprintf("broker store commits failing since %s: %s", f.since.Format(time.RFC3339), f.err)
	}
	return ""
}

func apply(tx *bbolt.Tx, op storeOp) error {
	b := tx.Bucket(op.bucket)
	switch {
	case op.val != nil:
		return b.Put(op.key, op.val)
	case op.prefix:
		c := b.Cursor()
		for k, _ := c.Seek(op.key); k != nil && bytes.HasPrefix(k, op.key); k, _ = c.Seek(op.key) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	default:
		return b.Delete(op.key)
	}
}

// queue adds op to the writer's queue; the caller holds s.mu, so the queue
// order matches the order of the changes to s.inflight.
func (s *store) queue(op storeOp) error {
	if s.closed {
		return errStoreClosed
	}
	s.ops <- op
	return nil
}

// put stores a record and, if wait, returns once it is committed.
func (s *store) put(bucket []byte, key string, v storage.Serializable, wait bool) {
	val, err := v.MarshalBinary()
	if err != nil {
		s.log.Error("encode broker store record", "key", key, "err", err)
		return
	}
	s.mu.Lock()
	s.send(storeOp{bucket: bucket, key: []byte(key), val: val}, wait)
}

// del removes a record (or every record with the prefix) without waiting.
func (s *store) del(bucket []byte, key string, prefix bool) {
	s.mu.Lock()
	s.send(storeOp{bucket: bucket, key: []byte(key), prefix: prefix}, false)
}

// send queues op and unlocks s.mu (which the caller took), then waits for
// the commit if asked to.
func (s *store) send(op storeOp, wait bool) {
	if wait {
		op.done = make(chan error, 1)
	}
	err := s.queue(op)
	s.mu.Unlock()
	if err == nil && wait {
		err = <-op.done
	}
	if err != nil {
		s.failures.Add(1)
		s.log.Debug("broker store write not done", "key", string(op.key), "err", err)
	}
}

// persistent reports whether a client's session outlives its connection.
func persistent(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval > 0
	}
	return !cl.Properties.Clean
}

func sep(id string) string { return id + "\x00" }

func inflightKey(id string, packetID uint16) string {
	return sep(id) + string(binary.BigEndian.AppendUint16(nil, packetID))
}

// fingerprint identifies a stored message well enough to skip rewriting it
// when mochi resends it under the same packet ID.
func fingerprint(pk packets.Packet) uint64 {
	h := fnv.New64a()
	var hdr [11]byte
	hdr[0] = pk.FixedHeader.Type
	hdr[1] = pk.FixedHeader.Qos
	if pk.FixedHeader.Retain {
		hdr[2] = 1
	}
	binary.BigEndian.PutUint64(hdr[3:], uint64(pk.Created))
	h.Write(hdr[:])
	h.Write([]byte(pk.TopicName))
	h.Write([]byte{0})
	h.Write([]byte(pk.Origin))
	h.Write([]byte{0})
	h.Write(pk.Payload)
	return h.Sum64()
}
