import type { Knex } from '@marketmesh/shared'

/**
 * The escrow ledger, double-entry: a journal is one movement of money (an order paid, its escrow
 * released, a refund), once per order and kind; its entries are signed amounts (debit +, credit −)
 * on accounts and sum to zero. The database holds both promises whatever the code does: a journal
 * that does not balance cannot commit, and no entry is ever changed or deleted (a correction is a
 * new journal).
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('ledger_journals', (table) => {
    table.uuid('id').primary()
    table.uuid('orderId').notNullable().index()
    // payment, release, refund:<refundId>
    table.string('kind').notNullable()
    table.string('currency', 3).notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.unique(['orderId', 'kind'])
  })
  await knex.schema.createTable('ledger_entries', (table) => {
    table.bigIncrements('id')
    table.uuid('journalId').notNullable().references('id').inTable('ledger_journals').index()
    // escrow, payments, commission, refunds, seller:<sellerId>
    table.string('account').notNullable().index()
    table.bigInteger('amount').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  await knex.raw(`
    CREATE FUNCTION ledger_journal_balances() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE "journalId" = NEW."journalId") <> 0 THEN
        RAISE EXCEPTION 'ledger journal % does not balance', NEW."journalId" USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER ledger_journal_balances AFTER INSERT ON ledger_entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_journal_balances();
    CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
    CREATE TRIGGER ledger_journals_append_only BEFORE UPDATE OR DELETE ON ledger_journals
      FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
  `)
  await knex.schema.createTable('refunds', (table) => {
    table.uuid('id').primary()
    table.uuid('orderId').notNullable().references('id').inTable('orders').index()
    table.integer('amount').notNullable()
    table.string('currency', 3).notNullable()
    table.string('reason').notNullable()
    table.string('by').notNullable()
    // pending until the provider has refunded, then succeeded
    table.string('status').notNullable()
    table.string('refundReference')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  await knex.raw('ALTER TABLE refunds ADD CONSTRAINT refunds_amount_positive CHECK (amount > 0)')
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('refunds')
  await knex.raw(
    'DROP TABLE ledger_entries; DROP TABLE ledger_journals; DROP FUNCTION ledger_journal_balances(); DROP FUNCTION ledger_is_append_only()'
  )
}
