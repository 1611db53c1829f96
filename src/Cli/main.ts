#!/usr/bin/env node
/**
 * The `rain` bin (package.json `bin`): runs the command line on `process.argv`.
 *
 * @since 0.2.0
 */
import { main } from "./index.js"

main(process.argv)
