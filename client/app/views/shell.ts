/**
 * The signed-in layout: top bar (menu, notifications, account), the sidebar (org switcher and
 * rooms) and the main area, which shows the welcome, an org, an invitation or a room.
 */

import type { Session } from "../../index.ts";
import { type Org, ok, type Room } from "../../index.ts";
import { errorText, h, icon, logo, replaceChildren } from "../dom.ts";
import { Files } from "../files.ts";
import { People } from "../people.ts";
import { href, navigate, type Route } from "../router.ts";
import { Notifications } from "./notifications.ts";
import { createOrgForm, invitationView, orgView, roomLink, welcomeView } from "./orgs.ts";
import { RoomView } from "./room.ts";

const LAST_ORG = "petrel:lastOrg";
/** The sidebar's link to the org overview says what the role can do there. */
const OVERVIEW_LINK: Record<Org["role"], string> = {
  owner: "+ New room · invite people",
  admin: "+ New room · invite people",
  member: "+ New room · members",
  guest: "About this organization",
};

export class Shell {
  readonly el: HTMLElement;
  private main = h("main", { id: "main", class: "main", tabindex: -1 });
  private sidebar = h("nav", { id: "sidebar", class: "sidebar", "aria-label": "Organizations and rooms" });
  private navToggle: HTMLButtonElement;
  private orgs: Org[] = [];
  private rooms = new Map<string, Room[]>();
  private people = new Map<string, People>();
  private files: Files;
  private notifications: Notifications;
  private roomView: RoomView | null = null;
  private currentOrg: string | null = null;
  private currentRoom: string | null = null;
  private readonly session: Session;

  constructor(session: Session) {
    this.session = session;
    this.files = new Files(session.api);
    this.notifications = new Notifications(session, {
      person: (id) => [...this.people.values()].map((p) => p.get(id)?.name).find(Boolean),
      room: (id) => [...this.rooms.values()].flat().find((r) => r.id === id)?.name,
    });
    this.navToggle = h(
      "button",
      {
        type: "button",
        class: "nav-toggle",
        "aria-controls": "sidebar",
        "aria-expanded": "false",
        onClick: () => this.toggleNav(),
      },
      icon("menu"),
      h("span", { class: "sr-only" }, "Rooms"),
    );
    const user = session.user!;
    this.el = h(
      "div",
      { class: "shell" },
      h(
        "header",
        { class: "topbar" },
        this.navToggle,
        h("a", { class: "brand", href: href("/") }, logo(), "Petrel"),
        h("span", { class: "spacer" }),
        this.notifications.button,
        h(
          "span",
          { class: "me", title: user.email },
          user.name,
          h("span", { class: "handle" }, ` @${user.handle}`),
        ),
        h("button", { type: "button", class: "link", onClick: () => session.logout() }, "Log out"),
      ),
      this.notifications.panel,
      h("div", { class: "layout" }, this.sidebar, this.main),
    );
  }

  async start() {
    await this.loadOrgs();
    this.notifications.start().catch(() => undefined);
  }

  destroy() {
    this.roomView?.destroy();
    this.notifications.stop();
  }

  async show(route: Route) {
    this.roomView?.destroy();
    this.roomView = null;
    this.currentRoom = null;
    this.toggleNav(false);
    try {
      if (route.name === "room") await this.showRoom(route.roomId);
      else if (route.name === "org") await this.showOrg(route.orgId);
      else if (route.name === "invitation")
        this.setMain(
          invitationView(this.session.api, route.token, async (org) => {
            await this.loadOrgs();
            navigate(`/orgs/${org.id}`, { replace: true });
          }),
          "Invitation",
        );
      else this.showHome();
    } catch (err) {
      this.setMain(
        h(
          "section",
          { class: "page" },
          h("h1", {}, "Not available"),
          h("p", { role: "alert" }, errorText(err)),
        ),
        "Error",
      );
    }
  }

  private async loadOrgs() {
    this.orgs = (await ok(this.session.api.v1.orgs.$get({ query: { limit: "100" } }))).items;
  }

  private showHome() {
    const last = localStorage.getItem(LAST_ORG);
    const org = this.orgs.find((o) => o.id === last) ?? this.orgs[0];
    if (org) return navigate(`/orgs/${org.id}`, { replace: true });
    this.renderSidebar();
    this.setMain(
      welcomeView(this.session.api, (created) => {
        this.orgs.push(created);
        navigate(`/orgs/${created.id}`);
      }),
      "Welcome",
    );
  }

  private async selectOrg(orgId: string) {
    if (!this.orgs.some((o) => o.id === orgId)) await this.loadOrgs();
    const org = this.orgs.find((o) => o.id === orgId);
    if (!org) throw new Error("This organization does not exist or you are not a member.");
    this.currentOrg = orgId;
    localStorage.setItem(LAST_ORG, orgId);
    let people = this.people.get(orgId);
    if (!people) {
      const me = this.session.user!;
      const self = { userId: me.id, name: me.name, handle: me.handle };
      people = new People(this.session.api, orgId, self, org.role !== "guest");
      this.people.set(orgId, people);
    }
    // Names are a nicety: without them (a failed member list) the org and its rooms still work.
    await Promise.all([people.load().catch(() => undefined), this.loadRooms(orgId)]);
    this.renderSidebar();
    return { org, people };
  }

  private async loadRooms(orgId: string) {
    const page = await ok(
      this.session.api.v1.orgs[":orgId"].rooms.$get({ param: { orgId }, query: { limit: "100" } }),
    );
    this.rooms.set(orgId, page.items);
  }

  private async showOrg(orgId: string) {
    const { org, people } = await this.selectOrg(orgId);
    this.setMain(
      orgView(this.session.api, org, this.rooms.get(orgId) ?? [], people, (room) => {
        this.rooms.set(orgId, [...(this.rooms.get(orgId) ?? []), room]);
      }),
      org.name,
    );
  }

  private async showRoom(roomId: string) {
    const room = await ok(this.session.api.v1.rooms[":roomId"].$get({ param: { roomId } }));
    const { people } = await this.selectOrg(room.orgId);
    this.currentRoom = roomId;
    this.markRead(room); // the room view posts the read position itself
    this.renderSidebar();
    const view = new RoomView(this.session, room, people, this.files, () => this.markRead(room));
    this.roomView = view;
    this.setMain(view.el, `#${room.name}`, false);
    await view.start();
  }

  private markRead(room: Room) {
    const list = this.rooms.get(room.orgId);
    const hit = list?.find((r) => r.id === room.id);
    if (hit?.unreadCount) {
      hit.unreadCount = 0;
      this.renderSidebar();
    }
  }

  private setMain(content: HTMLElement, title: string, focus = true) {
    this.main.replaceChildren(content);
    document.title = `${title} · Petrel`;
    if (focus) this.main.focus({ preventScroll: true });
  }

  private toggleNav(open = !document.body.classList.contains("nav-open")) {
    document.body.classList.toggle("nav-open", open);
    this.navToggle.setAttribute("aria-expanded", String(open));
  }

  private renderSidebar() {
    const select = h(
      "select",
      { id: "org-select", onChange: () => navigate(`/orgs/${select.value}`) },
      ...this.orgs.map((o) =>
        h("option", { value: o.id, ...(o.id === this.currentOrg ? { selected: true } : {}) }, o.name),
      ),
    );
    const org = this.orgs.find((o) => o.id === this.currentOrg);
    const rooms = (org && this.rooms.get(org.id)) || [];
    replaceChildren(
      this.sidebar,
      this.orgs.length
        ? h("div", { class: "field org-switch" }, h("label", { for: "org-select" }, "Organization"), select)
        : null,
      org
        ? h(
            "div",
            { class: "rooms" },
            h("h2", {}, h("a", { href: href(`/orgs/${org.id}`) }, "Rooms")),
            h(
              "ul",
              { class: "room-list" },
              ...rooms.map((r) => h("li", {}, roomLink(r, r.id === this.currentRoom))),
            ),
            h("a", { class: "muted small", href: href(`/orgs/${org.id}`) }, OVERVIEW_LINK[org.role]),
          )
        : null,
      this.orgs.length === 0
        ? null
        : h(
            "details",
            { class: "new-org" },
            h("summary", {}, "New organization"),
            createOrgForm(
              this.session.api,
              (created) => {
                this.orgs.push(created);
                navigate(`/orgs/${created.id}`);
              },
              "sidebar-org-name",
            ),
          ),
    );
  }
}
