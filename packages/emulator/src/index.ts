/**
 * @effect-msgraph/emulator: Microsoft Graph's `$batch` endpoint, throttling and a working set of
 * resources, as an in-process test layer or a loopback HTTP server.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Emulator from "./Emulator.js"

/**
 * @since 0.1.0
 */
export * as EmulatorServer from "./EmulatorServer.js"

/**
 * @since 0.1.0
 */
export * as Audit from "./Audit.js"

/**
 * @since 0.1.0
 */
export * as Faults from "./Faults.js"

/**
 * @since 0.1.0
 */
export * as Latency from "./Latency.js"
