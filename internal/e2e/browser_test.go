package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// chatInBrowser is issue 7's "done when", in a headless browser: two tabs of
// the chat page served by the gateway join the same room through the form,
// one types a message and both see it; a third tab in another room does not;
// the table shows both rows of the room with their fields. Then (issue 13)
// the room's member list shows who is there, alice switches to the other
// room while connected (leaving the first: bob sees her leave, carol sees
// her join), and her message there reaches carol and not bob; closing a tab
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

	// Who is in the room: the member lists of the lobby.
	for name, p := range map[string]*tab{"alice": alice, "bob": bob} {
		if err := p.waitText(ctx, "#members", "alicebob"); err != nil {
			t.Fatalf("%s's member list: %v", name, err)
		}
		if err := p.waitText(ctx, "#count", "2"); err != nil {
			t.Fatalf("%s's member count: %v", name, err)
		}
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

	// alice joins the second room in turn, without reconnecting.
	if err := alice.typeInto(ctx, "#newroom", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := alice.click(ctx, "#switch button"); err != nil {
		t.Fatal(err)
	}
	if err := alice.waitText(ctx, "#status", "connected to room elsewhere as alice"); err != nil {
		t.Fatal(err)
	}
	if err := alice.waitText(ctx, "#members", "alicecarol"); err != nil {
		t.Fatalf("alice's members in elsewhere: %v", err)
	}
	if err := carol.waitText(ctx, "#messages", "alice joined"); err != nil {
		t.Fatalf("carol did not see alice join: %v", err)
	}
	if err := carol.waitText(ctx, "#members", "alicecarol"); err != nil {
		t.Fatalf("carol's members: %v", err)
	}
	if err := bob.waitText(ctx, "#messages", "alice left"); err != nil {
		t.Fatalf("bob did not see alice leave: %v", err)
	}
	if got, err := bob.text(ctx, "#members"); err != nil || got != "bob" {
		t.Fatalf("bob's members = %q (%v); want bob alone", got, err)
	}
	if err := alice.typeInto(ctx, "#text", "hi elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := alice.click(ctx, "#send button"); err != nil {
		t.Fatal(err)
	}
	if err := carol.waitText(ctx, "#messages", "alice:hi elsewhere"); err != nil {
		t.Fatalf("carol did not get alice's message: %v", err)
	}
	if err := alice.waitText(ctx, "#messages", "alice:hi elsewhere"); err != nil {
		t.Fatal(err)
	}
	// bob sends in the lobby; his own line arriving proves alice's did not
	// reach him (it was published first).
	if err := bob.typeInto(ctx, "#text", "still here"); err != nil {
		t.Fatal(err)
	}
	if err := bob.click(ctx, "#send button"); err != nil {
		t.Fatal(err)
	}
	if err := bob.waitText(ctx, "#messages", "bob:still here"); err != nil {
		t.Fatal(err)
	}
	if got, _ := bob.text(ctx, "#messages"); strings.Contains(got, "hi elsewhere") {
		t.Fatalf("bob got alice's message to elsewhere: %q", got)
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
