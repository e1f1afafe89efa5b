/**
 * The identity and access cost table of the seed, as data (the encoded form, which
 * `LimitCatalog.ts` decodes with the rest of the catalogue).
 *
 * @internal
 */
import type { IdentityCostRow, IdentityCostRules, Method } from "../../LimitCatalog.js"

const row = (method: Method, path: string, resourceUnits: number, writeCost = 0): typeof IdentityCostRow.Encoded => ({
  method,
  path,
  resourceUnits,
  writeCost
})

/** @internal */
export const identityCosts: typeof IdentityCostRules.Encoded = {
  rows: [
    row("GET", "applications", 2),
    row("GET", "applications/{id}/extensionProperties", 2),
    row("GET", "contracts", 3),
    row("POST", "directoryObjects/getByIds", 5),
    row("GET", "domains/{id}/domainNameReferences", 4),
    row("POST", "getObjectsById", 5),
    row("GET", "groups/{id}/members", 3),
    row("GET", "groups/{id}/transitiveMembers", 5),
    row("POST", "isMemberOf", 4),
    row("POST", "me/checkMemberGroups", 4),
    row("POST", "me/checkMemberObjects", 4),
    row("POST", "me/getMemberGroups", 2),
    row("POST", "me/getMemberObjects", 2),
    row("GET", "me/licenseDetails", 2),
    row("GET", "me/memberOf", 2),
    row("GET", "me/ownedObjects", 2),
    row("GET", "me/transitiveMemberOf", 2),
    row("GET", "oauth2PermissionGrants", 2),
    row("GET", "oauth2PermissionGrants/{id}", 2),
    row("GET", "servicePrincipals/{id}/appRoleAssignments", 2),
    row("GET", "subscribedSkus", 3),
    row("GET", "users", 2)
  ],
  otherwise: [
    row("GET", "(any identity path not listed in the table)", 1, 0),
    row("POST", "(any identity path not listed in the table)", 1, 1),
    row("PATCH", "(any identity path not listed in the table)", 1, 1),
    row("PUT", "(any identity path not listed in the table)", 1, 1),
    row("DELETE", "(any identity path not listed in the table)", 1, 1)
  ],
  selectDelta: -1,
  expandDelta: 1,
  topBelow: 20,
  topDelta: -1,
  b2cCreateUserDelta: 4,
  minimum: 1,
  selectByIdsPaths: ["directoryObjects/getByIds", "getObjectsById"],
  selectByIdsCost: 2,
  source:
    'Identity and access service limits: "The following table lists base request costs. Any requests not listed have a base cost of 1." ' +
    '"Using $select decreases cost by 1 / Using $expand increases cost by 1 / Using $top with a value of less than 20 decreases cost by 1 / ' +
    'Creating a user in a Microsoft Entra ID B2C tenant increases cost by 4" "A request cost can never be lower than 1. Any request cost that ' +
    "applies to a request path starting with me/ also applies to equivalent requests starting with users/{id | userPrincipalName}/.\" " +
    '"Using $select for directoryObjects/getByIds and getObjectsById will result in 2 ResourceUnits."'
}
