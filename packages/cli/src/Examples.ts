/**
 * The example workloads under `examples/`, as functions: `scripts/genExamples.ts` writes them, and
 * the benchmarks run them. Each is self-contained: it creates the users, mailboxes and groups it
 * needs first, so it runs against an empty emulated tenant as well as a real one.
 *
 * @since 0.1.0
 */
import type { Workload } from "@effect-msgraph/core"

type Request = Workload.WorkloadRequest

const domain = "contoso.onmicrosoft.com"

const newUser = (id: string, nickname: string, displayName: string): Request => ({
  id,
  method: "POST",
  url: "/users",
  body: {
    accountEnabled: true,
    displayName,
    mailNickname: nickname,
    userPrincipalName: `${nickname}@${domain}`,
    usageLocation: "US",
    passwordProfile: { forceChangePasswordNextSignIn: true, password: "Generated-1!" }
  }
})

/**
 * Onboarding: for each new starter, create the user, assign a licence (by UPN, read from the
 * create's response), add them to a group (after the licence) and send a welcome mail (after the
 * membership). The SKU and the group come from two requests made first. `4 × users + 2` requests.
 *
 * @since 0.1.0
 * @category examples
 */
export const onboarding = (users = 500): Workload.Workload => [
  { id: "skus", method: "GET", url: "/subscribedSkus" },
  {
    id: "group",
    method: "POST",
    url: "/groups",
    body: { displayName: "New starters", mailNickname: "newstarters", mailEnabled: false, securityEnabled: true }
  },
  ...Array.from({ length: users }, (_, i): Array<Request> => [
    newUser(`create-${i}`, `starter${i}`, `Starter ${i}`),
    {
      id: `license-${i}`,
      method: "POST",
      url: `/users/{{create-${i}#/body/userPrincipalName}}/assignLicense`,
      body: { addLicenses: [{ skuId: "{{skus#/body/value/0/skuId}}", disabledPlans: [] }], removeLicenses: [] }
    },
    {
      id: `member-${i}`,
      method: "POST",
      url: "/groups/{{group#/body/id}}/members/$ref",
      body: { "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/{{create-${i}#/body/id}}` },
      dependsOn: [`license-${i}`]
    },
    {
      id: `welcome-${i}`,
      method: "POST",
      url: `/users/{{create-${i}#/body/id}}/sendMail`,
      body: {
        message: {
          subject: "Welcome",
          body: { contentType: "Text", content: "Welcome aboard" },
          toRecipients: [{ emailAddress: { address: `starter${i}@${domain}` } }]
        },
        saveToSentItems: false
      },
      dependsOn: [`member-${i}`]
    }
  ]).flat()
]

/**
 * @since 0.1.0
 * @category examples
 */
export interface MailboxSyncOptions {
  /** Mailboxes in all (default 50). */
  readonly mailboxes?: number
  /** How many of them are busy (default 3). */
  readonly busy?: number
  /** Requests per busy mailbox (default 10,500: more than Outlook's 10,000 per 10 minutes). */
  readonly busyRequests?: number
  /** Requests per quiet mailbox (default 100). */
  readonly quietRequests?: number
}

/**
 * Mailbox sync, Outlook-heavy: create the mailboxes' users, then read each mailbox: message pages,
 * folder listings and single messages' worth of reads, plus a draft every tenth request. A few
 * mailboxes are busy: more requests than Outlook's 10,000 per 10 minutes per app per mailbox, so
 * the run cannot take less than ten minutes.
 *
 * @since 0.1.0
 * @category examples
 */
export const mailboxSync = (options: MailboxSyncOptions = {}): Workload.Workload => {
  const mailboxes = options.mailboxes ?? 50
  const busy = Math.min(mailboxes, options.busy ?? 3)
  const out: Array<Request> = []
  for (let m = 0; m < mailboxes; m++) out.push(newUser(`mailbox-${m}`, `mailbox${m}`, `Mailbox ${m}`))
  for (let m = 0; m < mailboxes; m++) {
    const count = m < busy ? options.busyRequests ?? 10_500 : options.quietRequests ?? 100
    const owner = `/users/{{mailbox-${m}#/body/id}}`
    for (let k = 0; k < count; k++) {
      const id = `sync-${m}-${k}`
      switch (k % 10) {
        case 9:
          out.push({
            id,
            method: "POST",
            url: `${owner}/messages`,
            body: { subject: `Draft ${k}`, body: { contentType: "Text", content: "Synchronised draft" } },
            priority: "low"
          })
          break
        case 0:
        case 3:
        case 6:
          out.push({ id, method: "GET", url: `${owner}/mailFolders/inbox/messages?$top=50&$select=subject,receivedDateTime` })
          break
        default:
          out.push({ id, method: "GET", url: `${owner}/messages?$top=25&$select=subject,from,isRead` })
      }
    }
  }
  return out
}

/**
 * @since 0.1.0
 * @category examples
 */
export interface TeamsPostingOptions {
  readonly teams?: number
  readonly channelsPerTeam?: number
  readonly postsPerChannel?: number
}

/**
 * Teams posting: the same announcement series posted to every channel, one post per second per
 * channel at most, which is the pace Graph's per-channel limits allow. Default: 2 teams × 5 channels
 * × 30 posts.
 *
 * @since 0.1.0
 * @category examples
 */
export const teamsPosting = (options: TeamsPostingOptions = {}): Workload.Workload => {
  const out: Array<Request> = []
  for (let t = 0; t < (options.teams ?? 2); t++) {
    for (let c = 0; c < (options.channelsPerTeam ?? 5); c++) {
      for (let p = 0; p < (options.postsPerChannel ?? 30); p++) {
        out.push({
          id: `post-${t}-${c}-${p}`,
          method: "POST",
          url: `/teams/team-${t}/channels/channel-${t}-${c}/messages`,
          body: { body: { contentType: "text", content: `Announcement ${p + 1}` } }
        })
      }
    }
  }
  return out
}

/**
 * Directory report: identity reads with `$select`, `$expand` and `$top` (each changes the request's
 * resource-unit cost), enough of them to empty the tenant's resource-unit bucket. Default 12,000.
 *
 * @since 0.1.0
 * @category examples
 */
export const directoryReport = (requests = 12_000): Workload.Workload => {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  return Array.from({ length: requests }, (_, i): Request => {
    const letter = letters[i % letters.length]!
    switch (i % 4) {
      case 0:
        return { id: `report-${i}`, method: "GET", url: `/users?$select=id,displayName,mail&$top=10&$filter=startswith(displayName,'${letter}')` }
      case 1:
        return { id: `report-${i}`, method: "GET", url: `/users?$select=id,displayName&$expand=manager&$top=100&$filter=startswith(surname,'${letter}')` }
      case 2:
        return { id: `report-${i}`, method: "GET", url: `/groups?$select=id,displayName&$top=5` }
      default:
        return { id: `report-${i}`, method: "GET", url: `/users?$top=999&$filter=startswith(userPrincipalName,'${letter.toLowerCase()}')` }
    }
  })
}

/**
 * Mixed: a smaller onboarding, a few mailboxes' sync, channel posts and directory reads in one
 * workload, with high-priority onboarding and low-priority reporting.
 *
 * @since 0.1.0
 * @category examples
 */
export const mixed = (): Workload.Workload => [
  ...onboarding(50).map((r) => ({ ...r, priority: "high" as const })),
  ...mailboxSync({ mailboxes: 5, busy: 0, quietRequests: 200 }),
  ...teamsPosting({ teams: 1, channelsPerTeam: 3, postsPerChannel: 10 }),
  ...directoryReport(1_000).map((r) => ({ ...r, priority: "low" as const }))
]

/**
 * Every example by file name (without `.json`).
 *
 * @since 0.1.0
 * @category examples
 */
export const all: Readonly<Record<string, () => Workload.Workload>> = {
  onboarding: () => onboarding(),
  "mailbox-sync": () => mailboxSync(),
  "teams-posting": () => teamsPosting(),
  "directory-report": () => directoryReport(),
  mixed
}

/**
 * The file text of a workload as `examples/` stores it: `{ "requests": [...] }`, one request per
 * line, so diffs stay readable.
 *
 * @since 0.1.0
 * @category examples
 */
export const render = (workload: Workload.Workload): string =>
  `{ "requests": [\n${workload.map((r) => `  ${JSON.stringify(r)}`).join(",\n")}\n] }\n`
