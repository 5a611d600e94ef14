package e2e

import (
	"context"
	"testing"
	"time"
)

// chatInBrowser drives two tabs of the chat page at base (http://HOST) like two
// people in the same room: both join through the form, one types a message,
// both see it; a third tab in another room does not.
func chatInBrowser(t *testing.T, base string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t)
	alice := b.tab(ctx, t, base+"/")
	bob := b.tab(ctx, t, base+"/")
	carol := b.tab(ctx, t, base+"/")
	for _, p := range []struct {
		tab        *tab
		user, room string
	}{{alice, "alice", "lobby"}, {bob, "bob", "lobby"}, {carol, "carol", "elsewhere"}} {
		if err := p.tab.waitText(ctx, "#status", "not connected"); err != nil {
			t.Fatalf("%s: page did not load: %v", p.user, err)
		}
		if err := p.tab.typeInto(ctx, "#user", p.user); err != nil {
			t.Fatal(err)
		}
		if err := p.tab.typeInto(ctx, "#room", p.room); err != nil {
			t.Fatal(err)
		}
		if err := p.tab.click(ctx, "#join button"); err != nil {
			t.Fatal(err)
		}
		if err := p.tab.waitText(ctx, "#status", "connected to room "+p.room+" as "+p.user); err != nil {
			t.Fatalf("%s: %v", p.user, err)
		}
	}
	if err := alice.typeInto(ctx, "#text", "hello from a browser <b>tab</b>"); err != nil {
		t.Fatal(err)
	}
	if err := alice.click(ctx, "#send button"); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*tab{"alice": alice, "bob": bob} {
		if err := p.waitText(ctx, "#messages", "alice:hello from a browser <b>tab</b>"); err != nil {
			t.Fatalf("%s did not see the message: %v", name, err)
		}
	}
	// carol sends too; her own line arriving first proves lobby's did not reach her.
	if err := carol.typeInto(ctx, "#text", "anyone?"); err != nil {
		t.Fatal(err)
	}
	if err := carol.click(ctx, "#send button"); err != nil {
		t.Fatal(err)
	}
	if err := carol.waitText(ctx, "#messages", "carol:anyone?"); err != nil {
		t.Fatal(err)
	}
	if got, err := carol.text(ctx, "#messages"); err != nil || got != "carol:anyone?" {
		t.Fatalf("carol's messages = %q (%v); want only her own line", got, err)
	}
}
