/**
 * Licences: `subscribedSkus` (two SKUs, `licenses` units each), `users/{id}/assignLicense` and
 * `users/{id}/licenseDetails`.
 *
 * @internal
 */
import type { ItemAnswer } from "../responses.js"
import { badRequest, type Call, isObject, type Json, ok, type Sku, type State } from "./state.js"

const unknownSku = (call: Call, skuId: unknown): ItemAnswer =>
  badRequest(call, "Request_BadRequest", `License ${String(skuId)} does not correspond to a valid company License.`)

/** @internal */
export const assignLicense = (state: State, call: Call, user: Json): ItemAnswer => {
  const body = call.body
  if (!isObject(body) || !Array.isArray(body["addLicenses"]) || !Array.isArray(body["removeLicenses"])) {
    return badRequest(call, "Request_BadRequest", "Invalid request body: 'addLicenses' and 'removeLicenses' are required.")
  }
  const id = user["id"] as string
  if (user["usageLocation"] === undefined || user["usageLocation"] === null) {
    return badRequest(call, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
  }
  const held = state.licenses.get(id) ?? new Set<string>()
  const add: Array<Sku> = []
  for (const entry of body["addLicenses"] as Array<unknown>) {
    const skuId = isObject(entry) ? entry["skuId"] : undefined
    const sku = state.skus.find((s) => s.skuId === skuId)
    if (sku === undefined) return unknownSku(call, skuId)
    if (!held.has(sku.skuId)) add.push(sku)
  }
  const remove: Array<Sku> = []
  for (const skuId of body["removeLicenses"] as Array<unknown>) {
    const sku = state.skus.find((s) => s.skuId === skuId)
    if (sku === undefined) return unknownSku(call, skuId)
    if (held.has(sku.skuId)) remove.push(sku)
  }
  for (const sku of add) {
    if (sku.consumed >= state.options.licenses) {
      return badRequest(call, "Request_BadRequest", `Subscription ${sku.skuPartNumber} does not have any available licenses.`)
    }
  }
  for (const sku of add) {
    sku.consumed++
    held.add(sku.skuId)
  }
  for (const sku of remove) {
    sku.consumed--
    held.delete(sku.skuId)
  }
  state.licenses.set(id, held)
  return ok({ "@odata.context": `${call.root}/$metadata#users/$entity`, ...user, assignedLicenses: [...held].map((skuId) => ({ skuId, disabledPlans: [] })) })
}

/** @internal */
export const licenseDetails = (state: State, call: Call, id: string): ItemAnswer => {
  const held = state.licenses.get(id) ?? new Set<string>()
  const value = state.skus.filter((s) => held.has(s.skuId)).map((s) => ({ id: `${s.skuId}-${id}`, skuId: s.skuId, skuPartNumber: s.skuPartNumber, servicePlans: [] }))
  return ok({ "@odata.context": `${call.root}/$metadata#users('${id}')/licenseDetails`, value })
}

/** @internal */
export const subscribedSkus = (state: State, call: Call): ItemAnswer =>
  ok({
    "@odata.context": `${call.root}/$metadata#subscribedSkus`,
    value: state.skus.map((s) => ({
      id: `tenant_${s.skuId}`,
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      capabilityStatus: "Enabled",
      appliesTo: "User",
      consumedUnits: s.consumed,
      prepaidUnits: { enabled: state.options.licenses, suspended: 0, warning: 0, lockedOut: 0 },
      servicePlans: []
    }))
  })
