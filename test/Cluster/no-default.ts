export const notASpec = 1
