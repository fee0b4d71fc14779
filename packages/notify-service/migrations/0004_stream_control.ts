import type { Knex } from '@marketmesh/shared'

/**
 * Streams of a caller who may no longer stream end on every instance: when a device's
 * credential is revoked or a user disabled, the row change NOTIFYs `notify_stream_control`
 * (delivered at commit, to every instance's log tail) with `device:<id>` or `user:<id>`.
 * Superseded by 0005, which drops these triggers: the event handlers send it now.
 */
export const createStreamControlTriggers = `
    CREATE FUNCTION notify_stream_end() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('notify_stream_control', TG_ARGV[0] || ':' || NEW.id);
      RETURN NULL;
    END $$;
    CREATE TRIGGER device_revoked AFTER INSERT OR UPDATE OF revoked_at ON device_credentials
      FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION notify_stream_end('device');
    CREATE TRIGGER user_disabled AFTER INSERT OR UPDATE OF status ON users
      FOR EACH ROW WHEN (NEW.status = 'disabled') EXECUTE FUNCTION notify_stream_end('user');
  `

export const dropStreamControlTriggers = `
    DROP TRIGGER user_disabled ON users;
    DROP TRIGGER device_revoked ON device_credentials;
    DROP FUNCTION notify_stream_end();
  `

export async function up(knex: Knex) {
  await knex.raw(createStreamControlTriggers)
}

export async function down(knex: Knex) {
  await knex.raw(dropStreamControlTriggers)
}
