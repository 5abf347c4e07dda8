export { registerApiRoutes } from './api.routes.ts'
export { type Api, startApi } from './api-service.ts'
export { openApiDocument } from './openapi.ts'
