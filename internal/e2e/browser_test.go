package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// chatInBrowser is issue 7's "done when", in a headless browser: two tabs of
// the chat page served by the gateway join the same room through the form,
// one types a message and both see it; a third tab in another room does not;
// the table shows both rows of the room with their fields; closing a tab
// removes its row.
func chatInBrowser(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := "http://" + e.gw.Addr()
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

	// The table shows both rows of the lobby, with their fields.
	rows := map[string]row{}
	for _, item := range e.roomRows(ctx, t, "lobby") {
		var r row
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		rows[r.User] = r
	}
	for _, user := range []string{"alice", "bob"} {
		r, ok := rows[user]
		if !ok || r.ConnectionID == "" || r.Room != "lobby" || r.ConnectedAt == 0 || r.ExpiresAt == 0 {
			t.Fatalf("lobby rows %+v; want one for %s with its fields", rows, user)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("lobby rows %+v; want alice's and bob's", rows)
	}

	// Closing bob's tab removes his row; alice's stays.
	if err := bob.call(ctx, "Page.close", nil, nil); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, rows["bob"].ConnectionID)
	if e.item(ctx, t, rows["alice"].ConnectionID) == nil {
		t.Fatal("alice's row disappeared when bob's tab closed")
	}
}
