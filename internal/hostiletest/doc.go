// Package hostiletest holds tests that run the built cesub binary against
// hostile fake servers on 127.0.0.1 and measure what the whole process
// costs (peak RSS). It has no code of its own outside its tests.
package hostiletest
