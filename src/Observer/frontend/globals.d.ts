/** CSS the bundle imports (esbuild writes it beside the script). */
declare module "*.css"
