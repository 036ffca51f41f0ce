import { getConfig } from "./config.ts";
import { createServices } from "./context/container.ts";
import { createLogger, errorFields } from "./lib/log.ts";
import { cleanupExpiredUploads } from "./services/files/files-access.ts";

/** The cron entry (wrangler.toml [triggers]): clean up abandoned uploads. */
export async function scheduledFileCleanup(env: Cloudflare.Env): Promise<void> {
  const config = getConfig(env);
  const log = createLogger(config.LOG_LEVEL, { job: "files-cleanup" });
  try {
    const services = createServices(config, env, log); // the same factory as requests
    const removed = await cleanupExpiredUploads({ db: services.database.db, storage: services.storage, log });
    if (removed) log.info("abandoned uploads removed", { removed });
  } catch (err) {
    log.error("files cleanup failed", errorFields(err));
  }
}
