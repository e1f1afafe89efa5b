/**
 * @since 0.1.0
 */
export * as Calibration from "./Calibration.js"
export * as Cli from "./Cli.js"
export * as Examples from "./Examples.js"
export * as LowerBound from "./LowerBound.js"
export * as Output from "./Output.js"
export * as Progress from "./Progress.js"
export * as Report from "./Report.js"
export * as Results from "./Results.js"
export * as Simulation from "./Simulation.js"
export * as WorkloadFile from "./WorkloadFile.js"
