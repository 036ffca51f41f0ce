import { inject } from "vitest";
import { getDatabase } from "../../src/db/client.ts";

/** Direct database access for arranging states the API cannot reach quickly (expiry, roles). */
export const testDb = () => getDatabase(inject("sqldUrl"), undefined, 5000).db;
