import type { Reporter, TestModule } from 'vitest/node'

/** Ends the run with the plain `N passed, N failed` line that CI reads, whatever the runner. */
export default class SummaryReporter implements Reporter {
  private counts = { passed: 0, failed: 0, skipped: 0 }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const { state } = test.result()
        if (state === 'passed') this.counts.passed += 1
        else if (state === 'failed') this.counts.failed += 1
        else this.counts.skipped += 1
      }
    }
    // After the default reporter's summary, which it writes once this hook returns.
    process.once('beforeExit', () => {
      const { passed, failed, skipped } = this.counts
      process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
    })
  }
}
