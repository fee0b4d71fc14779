import type { ServiceApplication } from './declarations'

/**
 * Feathers keeps a route's children in a plain object, so a path segment such as `constructor`
 * or `toString` finds Object's own property instead of nothing, and the lookup throws (a 500 for
 * `GET /products/constructor`). After every registration the tree's children lose their prototype.
 */
export const prototypeFreeRoutes = (app: ServiceApplication) => {
  type RouteNode = typeof app.routes.root
  const detach = (node: RouteNode) => {
    Object.setPrototypeOf(node.children, null)
    for (const child of [...Object.values(node.children), ...node.placeholders]) detach(child)
  }
  app.mixins.push(() => detach(app.routes.root))
}
