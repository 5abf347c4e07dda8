export {
  type BusinessCalendar,
  type Calendar,
  CalendarError,
  type CalendarInput,
  calendarSchema,
  compileCalendar,
  type IcsHolidays,
  parseIcsHolidays,
} from './calendar.ts'
export { builtinCatalogFile, CatalogError, loadCatalog, parseCatalog } from './catalog.ts'
export {
  bindCalendars,
  calendarOf,
  type Decision,
  deadlineOf,
  decideInteraction,
  decideKnown,
  decideResponse,
  type InteractionEvent,
  type KnownEvents,
  knownEvents,
  type OutcomeState,
} from './decide.ts'
export {
  type ConditionDefinition,
  type CpiDefinition,
  type CpiDefinitionInput,
  cpiDefinitionSchema,
  type EventMatch,
  type ExpectationCalendar,
  type LatencyDefinition,
  type SurveyDefinition,
} from './definition.ts'
export { durationSchema } from './duration.ts'
export {
  builtinKpiCatalog,
  builtinKpiFile,
  domainOf,
  type KpiCatalog,
  type KpiDefinition,
  type KpiLink,
  kpiCatalogSchema,
  kpiDefinitionSchema,
  kpiLinkSchema,
  kpiOf,
  linksOf,
  parseKpiCatalog,
  type ResolvedKpiLink,
} from './kpi.ts'
export {
  definitionInput,
  durationText,
  exportOpenSlo,
  importOpenSlo,
  type OpenSloDocument,
  type OpenSloSli,
  type OpenSloSlo,
  openSloNameOf,
  openSloSli,
  openSloSlo,
} from './openslo.ts'
export { revisionHorizonMs } from './revision-horizon.ts'
