// Package broadcast posts a payload to stored connections. (Being built.)
package broadcast
