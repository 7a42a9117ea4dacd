-- 0004 identity epoch (PostgreSQL): one counter that every change to who-may-do-what bumps, in
-- the same transaction as the change. A server caches accounts (token version, memberships) per
-- epoch and reads only this row per request; any change — from this process, another process
-- or the admin CLI — is seen by the next request because it changes the epoch.

CREATE TABLE identity_epoch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value BIGINT NOT NULL
);
INSERT INTO identity_epoch (id, value) VALUES (1, 0);

CREATE FUNCTION identity_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE identity_epoch SET value = value + 1 WHERE id = 1;
  RETURN NULL;
END;
$$;

-- Only columns that decide access or appear in an account view: logins (failed_logins,
-- locked_until, password re-hash) do not invalidate anyone's cache.
CREATE TRIGGER identity_epoch_users_update AFTER UPDATE OF email, name, is_admin, disabled, token_version ON users
  FOR EACH STATEMENT EXECUTE FUNCTION identity_epoch_bump();
CREATE TRIGGER identity_epoch_users_delete AFTER DELETE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION identity_epoch_bump();
CREATE TRIGGER identity_epoch_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
  FOR EACH STATEMENT EXECUTE FUNCTION identity_epoch_bump();
CREATE TRIGGER identity_epoch_workspaces_update AFTER UPDATE OF name, slug, plan ON workspaces
  FOR EACH STATEMENT EXECUTE FUNCTION identity_epoch_bump();
CREATE TRIGGER identity_epoch_workspaces_delete AFTER DELETE ON workspaces
  FOR EACH STATEMENT EXECUTE FUNCTION identity_epoch_bump();
