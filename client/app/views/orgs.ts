/** Org screens: the welcome (create a first org), an org's overview (rooms, invitations, members). */
import { type Client, type Org, ok, type Room } from "../../index.ts";
import { errorText, h, icon } from "../dom.ts";
import type { People } from "../people.ts";
import { href, navigate } from "../router.ts";

function simpleForm(
  label: string,
  fields: HTMLElement[],
  submit: string,
  run: (form: HTMLFormElement) => Promise<string | undefined>,
) {
  const status = h("p", { role: "status", class: "muted" });
  const form = h(
    "form",
    {
      class: "inline-form",
      "aria-label": label,
      onSubmit: async (e: SubmitEvent) => {
        e.preventDefault();
        status.textContent = "";
        status.classList.remove("error");
        try {
          status.textContent = (await run(form)) ?? "";
          form.reset();
        } catch (err) {
          status.classList.add("error");
          status.textContent = errorText(err);
        }
      },
    },
    ...fields,
    h("button", { type: "submit", class: "primary" }, submit),
  );
  return h("div", {}, form, status);
}

const labelled = (id: string, label: string, control: HTMLElement) =>
  h("div", { class: "field" }, h("label", { for: id }, label), control);

export function createOrgForm(api: Client, onCreated: (org: Org) => void, id = "org-name") {
  const name = h("input", { id, required: true, maxlength: 100, placeholder: "Acme Inc." });
  return simpleForm(
    "Create an organization",
    [labelled(id, "Organization name", name)],
    "Create organization",
    async () => {
      const org = await ok(api.v1.orgs.$post({ json: { name: name.value } }));
      onCreated(org);
      return undefined;
    },
  );
}

export function welcomeView(api: Client, onCreated: (org: Org) => void): HTMLElement {
  return h(
    "section",
    { class: "page welcome" },
    h("h1", {}, "Welcome to Petrel"),
    h("p", {}, "Create an organization to start a room, or ask a colleague to invite you by email."),
    createOrgForm(api, onCreated),
  );
}

export function roomLink(room: Room, current: boolean) {
  return h(
    "a",
    { href: href(`/rooms/${room.id}`), class: "room-link", ...(current ? { "aria-current": "page" } : {}) },
    h("span", { class: "hash", "aria-hidden": "true" }, room.visibility === "private" ? icon("lock") : "#"),
    h("span", { class: "room-name" }, room.name),
    room.unreadCount > 0
      ? h("span", { class: "unread", "aria-label": `${room.unreadCount} unread` }, String(room.unreadCount))
      : null,
  );
}

export function orgView(
  api: Client,
  org: Org,
  rooms: Room[],
  people: People,
  onRoomCreated: (room: Room) => void,
) {
  const isAdmin = org.role === "owner" || org.role === "admin";
  const roomName = h("input", { id: "room-name", required: true, maxlength: 100, placeholder: "general" });
  const visibility = h(
    "select",
    { id: "room-visibility" },
    h("option", { value: "public" }, "Public: every member"),
    h("option", { value: "private" }, "Private: invited only"),
  );
  const createRoom =
    org.role === "guest"
      ? null
      : simpleForm(
          "Create a room",
          [
            labelled("room-name", "Room name", roomName),
            labelled("room-visibility", "Visibility", visibility),
          ],
          "Create room",
          async () => {
            const room = await ok(
              api.v1.orgs[":orgId"].rooms.$post({
                param: { orgId: org.id },
                json: { name: roomName.value, visibility: visibility.value as "public" | "private" },
              }),
            );
            onRoomCreated(room);
            navigate(`/rooms/${room.id}`);
            return undefined;
          },
        );
  const email = h("input", { id: "invite-email", type: "email", required: true, autocomplete: "off" });
  const role = h(
    "select",
    { id: "invite-role" },
    ...(org.role === "owner" ? ["member", "admin", "guest", "owner"] : ["member", "admin", "guest"]).map(
      (r) => h("option", { value: r }, r),
    ),
  );
  const invite = isAdmin
    ? simpleForm(
        "Invite someone",
        [labelled("invite-email", "Email", email), labelled("invite-role", "Role", role)],
        "Send invitation",
        async () => {
          const inv = await ok(
            api.v1.orgs[":orgId"].invitations.$post({
              param: { orgId: org.id },
              json: { email: email.value, role: role.value as Org["role"] },
            }),
          );
          return `Invitation sent to ${inv.email}.`;
        },
      )
    : null;
  const members = h("ul", { class: "members" });
  const renderMembers = () =>
    members.replaceChildren(
      ...people
        .all()
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((m) =>
          h("li", {}, h("strong", {}, m.name), ` @${m.handle} `, h("span", { class: "tag" }, m.role)),
        ),
    );
  renderMembers();
  const off = people.onChange(() => (members.isConnected ? renderMembers() : off()));
  return h(
    "section",
    { class: "page org" },
    h("h1", {}, org.name),
    h(
      "p",
      { class: "muted" },
      `You are ${org.role === "admin" || org.role === "owner" ? "an" : "a"} ${org.role} of this organization.`,
    ),
    h(
      "section",
      { "aria-labelledby": "rooms-title" },
      h("h2", { id: "rooms-title" }, "Rooms"),
      rooms.length
        ? h("ul", { class: "room-cards" }, ...rooms.map((r) => h("li", {}, roomLink(r, false))))
        : h("p", { class: "muted" }, "No rooms yet."),
      createRoom,
    ),
    invite
      ? h(
          "section",
          { "aria-labelledby": "invite-title" },
          h("h2", { id: "invite-title" }, "Invite people"),
          invite,
        )
      : null,
    // Guests get no member directory: they meet people in the rooms they were added to.
    people.directory
      ? h(
          "section",
          { "aria-labelledby": "members-title" },
          h("h2", { id: "members-title" }, "Members"),
          members,
        )
      : null,
  );
}

export function invitationView(api: Client, token: string, onJoined: (org: Org) => void): HTMLElement {
  const status = h("p", { role: "status" });
  const button = h("button", { type: "button", class: "primary" }, "Accept invitation");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      onJoined(await ok(api.v1.invitations[":token"].accept.$post({ param: { token } })));
    } catch (err) {
      status.textContent = errorText(err);
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "page" },
    h("h1", {}, "You are invited"),
    h("p", {}, "Join the organization that invited you."),
    button,
    status,
  );
}
