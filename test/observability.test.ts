import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { meshEnvironment, MESH_SERVICES, startMesh, type Mesh } from '@marketmesh/test-support/mesh'

/**
 * deploy/observability: the alert rules pass promtool's check and its unit tests
 * (alerts.test.yml), each alert has its runbook in docs/operations.md, and every metric a rule or
 * the dashboard names is one the four services export.
 */
const ROOT = join(__dirname, '..')
const OBSERVABILITY = join(ROOT, 'deploy', 'observability')
const RULES = join(OBSERVABILITY, 'prometheus', 'alerts.yml')
const DASHBOARD = join(OBSERVABILITY, 'grafana', 'marketmesh.json')

/** Metrics from elsewhere: Prometheus' own `up`, and RabbitMQ's rabbitmq_prometheus plugin. */
const isExternal = (name: string) => name === 'up' || name.startsWith('rabbitmq_')

/** PromQL's functions, aggregations and keywords: every other bare name in an expression is a metric. */
const PROMQL_WORDS = new Set(
  [
    'sum min max avg count by without on ignoring group_left group_right and or unless bool offset',
    'rate irate increase delta deriv histogram_quantile label_replace min_over_time max_over_time avg_over_time',
    'humanizeDuration humanizePercentage'
  ]
    .join(' ')
    .split(' ')
)

/** The metric names in a PromQL expression: label matchers, grouping labels, strings and durations taken out. */
const metricsIn = (expression: string) =>
  expression
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)!
    .filter((word) => !PROMQL_WORDS.has(word) && !/^\d/.test(word))

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap(
  (group) => group.rules
)
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> }

const promtool = (...args: string[]) => execFileSync('promtool', args, { cwd: join(OBSERVABILITY, 'prometheus'), encoding: 'utf8' })

describe('deploy/observability', () => {
  it('has alert rules and a Prometheus config that promtool accepts, and its unit tests of the alerts pass', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toContain(`SUCCESS: ${rules.length} rules found`)
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS')
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS')
  })

  it('has a runbook in docs/operations.md for every alert, and a unit test of each', () => {
    const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')
    const tests = readFileSync(join(OBSERVABILITY, 'prometheus', 'alerts.test.yml'), 'utf8')
    for (const { alert } of rules) {
      expect(operations, alert).toMatch(new RegExp(`^#### ${alert}$`, 'm'))
      expect(tests, alert).toContain(`alertname: ${alert}\n`)
    }
  })

  describe('names only metrics the services export', () => {
    let mesh: Mesh
    const exported = new Set<string>()

    beforeAll(async () => {
      mesh = await startMesh(meshEnvironment('observability'))
      for (const service of MESH_SERVICES) {
        const text = await (await fetch(`${mesh.opsUrls[service]}/metrics`)).text()
        for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
          exported.add(name)
          if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) exported.add(name + suffix)
        }
      }
    }, 240_000)

    afterAll(async () => {
      await mesh?.stop()
    }, 120_000)

    it.each(rules.map(({ alert, expr }) => [alert, expr]))('alert %s', (_alert, expression) => {
      expect(metricsIn(expression).length).toBeGreaterThan(0)
      const named = metricsIn(expression).filter((name) => !isExternal(name))
      expect(named.filter((name) => !exported.has(name))).toEqual([])
    })

    it.each(dashboard.panels.map(({ title, targets }) => [title, targets.map(({ expr }) => expr).join('\n')]))(
      'panel "%s"',
      (_title, expressions) => {
        expect(metricsIn(expressions).length).toBeGreaterThan(0)
        const named = metricsIn(expressions).filter((name) => !isExternal(name))
        expect(named.filter((name) => !exported.has(name))).toEqual([])
      }
    )
  })
})
