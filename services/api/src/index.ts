export { registerApiRoutes } from './api.routes.ts'
export { type Api, startApi } from './api-service.ts'
export type { OpenApiDocument } from './openapi.ts'
export { apiDocument } from './openapi-document.ts'
