/**
 * The 28 Intune includes of the seed. Each is its own table (so its own buckets) with the same
 * figures, except Intune devices, which doubles them. The includes name resource types; each area
 * is mapped to the `deviceManagement/` and `deviceAppManagement/` collections of those types.
 *
 * @internal
 */
import { entry, type EntryData, per, rate, writeMethods } from "../build.js"

interface Area {
  readonly slug: string
  /** The seed's include label. */
  readonly label: string
  readonly deviceManagement?: ReadonlyArray<string>
  readonly deviceAppManagement?: ReadonlyArray<string>
  readonly other?: ReadonlyArray<string>
  readonly devices?: boolean
}

/** "Intune device enrollment" and "Intune enrollment" list the same 17 resource types. */
const enrollment: Omit<Area, "slug" | "label"> = {
  deviceManagement: [
    "deviceEnrollmentConfigurations",
    "deviceCategories",
    "exchangeConnectors",
    "exchangeOnPremisesPolicy",
    "exchangeOnPremisesPolicies",
    "deviceManagementPartners",
    "mobileThreatDefenseConnectors",
    "complianceManagementPartners",
    "conditionalAccessSettings",
    "comanagementAuthorityConfiguration"
  ],
  deviceAppManagement: ["sideLoadingKeys", "vppTokens"],
  other: ["deviceAppManagement"]
}

const areas: ReadonlyArray<Area> = [
  {
    slug: "tunnel",
    label: "Intune tunnel",
    deviceManagement: [
      "microsoftTunnelConfigurations",
      "microsoftTunnelHealthThresholds",
      "microsoftTunnelSites",
      "microsoftTunnelServerLogCollectionResponses"
    ]
  },
  {
    slug: "androidForWork",
    label: "Intune android for work",
    deviceManagement: [
      "androidDeviceOwnerEnrollmentProfiles",
      "androidForWorkAppConfigurationSchemas",
      "androidForWorkEnrollmentProfiles",
      "androidForWorkSettings",
      "androidManagedStoreAccountEnterpriseSettings",
      "androidManagedStoreAppConfigurationSchemas"
    ]
  },
  {
    slug: "applications",
    label: "Intune applications",
    deviceAppManagement: [
      "mobileApps",
      "mobileAppCategories",
      "mobileAppConfigurations",
      "enterpriseCodeSigningCertificates",
      "symantecCodeSigningCertificate",
      "iosLobAppProvisioningConfigurations"
    ]
  },
  { slug: "auditing", label: "Intune auditing", deviceManagement: ["auditEvents"] },
  { slug: "books", label: "Intune books", deviceAppManagement: ["managedEBooks", "managedEBookCategories"] },
  {
    slug: "bundles",
    label: "Intune bundles",
    deviceManagement: ["assignmentFilters"],
    deviceAppManagement: ["policySets"]
  },
  { slug: "chromebookSync", label: "Intune chromebook sync", deviceManagement: ["chromeOSOnboardingSettings"] },
  { slug: "companyTerms", label: "Intune company terms", deviceManagement: ["termsAndConditions"] },
  {
    slug: "deviceConfigV2",
    label: "Intune device config v2",
    deviceManagement: [
      "configurationPolicies",
      "configurationPolicyTemplates",
      "configurationSettings",
      "configurationCategories",
      "reusablePolicySettings",
      "reusableSettings",
      "templateSettings",
      "complianceSettings",
      "complianceCategories"
    ]
  },
  {
    slug: "deviceConfiguration",
    label: "Intune device configuration",
    deviceManagement: [
      "deviceConfigurations",
      "deviceCompliancePolicies",
      "deviceCompliancePolicyDeviceStateSummary",
      "deviceCompliancePolicySettingStateSummaries",
      "deviceConfigurationDeviceStateSummaries",
      "deviceConfigurationConflictSummary",
      "deviceConfigurationUserStateSummaries",
      "deviceConfigurationRestrictedAppsViolations",
      "advancedThreatProtectionOnboardingStateSummary",
      "cartToClassAssociations",
      "iosUpdateStatuses",
      "macOSSoftwareUpdateAccountSummaries",
      "managedDeviceEncryptionStates",
      "ndesConnectors",
      "softwareUpdateStatusSummary"
    ],
    other: ["deviceManagement"]
  },
  {
    slug: "deviceEnrollment",
    label: "Intune device enrollment",
    ...enrollment
  },
  {
    slug: "deviceIntent",
    label: "Intune device intent",
    deviceManagement: ["intents", "templates", "settingDefinitions", "categories"]
  },
  {
    slug: "devices",
    label: "Intune devices",
    devices: true,
    deviceManagement: [
      "managedDevices",
      "managedDeviceOverview",
      "detectedApps",
      "deviceHealthScripts",
      "deviceManagementScripts",
      "deviceShellScripts",
      "deviceCustomAttributeShellScripts",
      "deviceComplianceScripts",
      "remoteActionAudits",
      "dataSharingConsents",
      "applePushNotificationCertificate",
      "comanagementEligibleDevices",
      "windowsMalwareInformation",
      "cloudPCConnectivityIssues",
      "userExperienceAnalytics*"
    ],
    deviceAppManagement: ["windowsManagementApp"],
    other: ["users/{user}/managedDevices/**"]
  },
  {
    slug: "endpointProtection",
    label: "Intune endpoint protection",
    deviceManagement: ["derivedCredentials", "resourceAccessProfiles"]
  },
  {
    slug: "enrollment",
    label: "Intune enrollment",
    ...enrollment
  },
  {
    slug: "gpAnalytics",
    label: "Intune GPAnalytics",
    deviceManagement: ["groupPolicyMigrationReports", "groupPolicyObjectFiles"]
  },
  {
    slug: "managedApplications",
    label: "Intune managed applications",
    deviceAppManagement: [
      "managedAppPolicies",
      "managedAppRegistrations",
      "managedAppStatuses",
      "iosManagedAppProtections",
      "androidManagedAppProtections",
      "defaultManagedAppProtections",
      "targetedManagedAppConfigurations",
      "mdmWindowsInformationProtectionPolicies",
      "windowsInformationProtectionPolicies",
      "windowsInformationProtectionDeviceRegistrations",
      "windowsInformationProtectionWipeActions"
    ],
    other: ["users/{user}/managedAppRegistrations/**"]
  },
  { slug: "notifications", label: "Intune notifications", deviceManagement: ["notificationMessageTemplates"] },
  { slug: "odj", label: "Intune ODJ", deviceManagement: ["domainJoinConnectors"] },
  {
    slug: "partnerIntegration",
    label: "Intune partner integration",
    deviceAppManagement: ["deviceAppManagementTasks"],
    deviceManagement: ["configManagerCollections"]
  },
  {
    slug: "rbac",
    label: "Intune rbac",
    deviceManagement: ["roleDefinitions", "roleAssignments", "resourceOperations", "roleScopeTags"]
  },
  {
    slug: "remoteAssistance",
    label: "Intune remote assistance",
    deviceManagement: ["remoteAssistancePartners", "remoteAssistanceSettings"]
  },
  {
    slug: "telephony",
    label: "Intune telephony",
    deviceManagement: ["embeddedSIMActivationCodePools"],
    deviceAppManagement: ["embeddedSIMActivationCodePools"]
  },
  { slug: "tem", label: "Intune TEM", deviceManagement: ["telecomExpenseManagementPartners"] },
  {
    slug: "troubleshooting",
    label: "Intune troubleshooting",
    deviceManagement: ["troubleshootingEvents", "autopilotEvents", "appleVppTokenTroubleshootingEvents"],
    other: [
      "users/{user}/deviceManagementTroubleshootingEvents/**",
      "users/{user}/mobileAppIntentAndStates/**",
      "users/{user}/mobileAppTroubleshootingEvents/**"
    ]
  },
  { slug: "unlock", label: "Intune unlock", deviceAppManagement: ["wdacSupplementalPolicies"] },
  {
    slug: "updates",
    label: "Intune updates",
    deviceManagement: ["windowsFeatureUpdateProfiles", "windowsQualityUpdateProfiles", "windowsUpdateCatalogItems"]
  },
  {
    slug: "wip",
    label: "Intune wip",
    deviceManagement: ["intuneBrandingProfiles"],
    deviceAppManagement: [
      "windowsInformationProtectionAppLearningSummaries",
      "windowsInformationProtectionNetworkLearningSummaries"
    ]
  }
]

const pathsOf = (area: Area): readonly [string, ...Array<string>] => {
  const paths = [
    ...(area.deviceManagement ?? []).map((name) => `deviceManagement/${name}/**`),
    ...(area.deviceAppManagement ?? []).map((name) => `deviceAppManagement/${name}/**`),
    ...(area.other ?? [])
  ]
  return paths as unknown as readonly [string, ...Array<string>]
}

const group = "intune.areas"
const restored = "include restored in the annotated reference"

const areaEntries = (
  slug: string,
  label: string,
  paths: readonly [string, ...Array<string>],
  devices: boolean,
  fallback: boolean,
  note: string | undefined
): Array<EntryData> => {
  const factor = devices ? 2 : 1
  const writes = `POST, PUT, DELETE, PATCH | ${200 * factor} requests per 20 seconds | ${100 * factor} requests per 20 seconds`
  const any = `Any | ${2000 * factor} requests per 20 seconds | ${1000 * factor} requests per 20 seconds`
  const source = (row: string, column: string) =>
    fallback
      ? `Intune service limits: "${row}" (column: ${column}), the figures shared by every include except Intune devices`
      : `Intune service limits [include: ${label} throttling documentation]: "${row}" (column: ${column}; ${restored})`
  const common = { service: "intune" as const, group, paths, ...(fallback ? { fallback } : {}), ...(note ? { note } : {}) }
  return [
    entry({
      ...common,
      id: `intune.${slug}.writes.tenant`,
      row: `${label}: POST, PUT, DELETE, PATCH`,
      methods: writeMethods,
      limit: rate("tenant", 200 * factor, per(20, "second"), { measure: "writeRequests" }),
      source: source(writes, "Limit per tenant for all apps")
    }),
    entry({
      ...common,
      id: `intune.${slug}.writes.appTenant`,
      row: `${label}: POST, PUT, DELETE, PATCH`,
      methods: writeMethods,
      limit: rate("appTenant", 100 * factor, per(20, "second"), { measure: "writeRequests" }),
      source: source(writes, "Limit per app per tenant")
    }),
    entry({
      ...common,
      id: `intune.${slug}.any.tenant`,
      row: `${label}: Any`,
      limit: rate("tenant", 2000 * factor, per(20, "second")),
      source: source(any, "Limit per tenant for all apps")
    }),
    entry({
      ...common,
      id: `intune.${slug}.any.appTenant`,
      row: `${label}: Any`,
      limit: rate("appTenant", 1000 * factor, per(20, "second")),
      source: source(any, "Limit per app per tenant")
    })
  ]
}

/** @internal */
export const intuneEntries: ReadonlyArray<EntryData> = [
  ...areas.flatMap((area) =>
    areaEntries(
      area.slug,
      area.label,
      pathsOf(area),
      area.devices ?? false,
      false,
      area.slug === "enrollment" || area.slug === "deviceEnrollment"
        ? "The enrollment and device enrollment includes list the same resource types, so both areas' limits apply to them."
        : undefined
    )
  ),
  ...areaEntries(
    "unmapped",
    "Intune (path of no mapped area)",
    ["deviceManagement/**", "deviceAppManagement/**"],
    false,
    true,
    "Not a table of the page: an Intune path that no area claims gets the figures that 27 of the 28 areas share, so that it is not left unthrottled. Applies only when no area matched."
  )
]
