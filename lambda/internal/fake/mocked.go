package fake

import (
	"fmt"
	"sync"
)

// MockedFunction stands in for one API call with input I and output O.
// The zero value answers every call with an error naming the call: a test
// sets what it expects.
type MockedFunction[I, O any] struct {
	// Default answers a call when nothing is queued.
	Default func(*I) (*O, error)

	mu     sync.Mutex
	queue  []answer[O]
	inputs []*I
}

type answer[O any] struct {
	out *O
	err error
}

// Push queues an answer: the next call that finds the queue empty of
// earlier answers returns out and err.
func (m *MockedFunction[I, O]) Push(out *O, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, answer[O]{out, err})
}

// Invoke records in and answers it: the first queued answer, or Default.
func (m *MockedFunction[I, O]) Invoke(name string, in *I) (*O, error) {
	m.mu.Lock()
	m.inputs = append(m.inputs, in)
	var next *answer[O]
	if len(m.queue) > 0 {
		next = &m.queue[0]
		m.queue = m.queue[1:]
	}
	def := m.Default
	m.mu.Unlock()
	switch {
	case next != nil:
		return next.out, next.err
	case def != nil:
		return def(in)
	}
	return nil, fmt.Errorf("fake: %s called with no answer set", name)
}

// Calls returns how many times the call was made.
func (m *MockedFunction[I, O]) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inputs)
}

// Inputs returns the input of every call, in order.
func (m *MockedFunction[I, O]) Inputs() []*I {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*I(nil), m.inputs...)
}
