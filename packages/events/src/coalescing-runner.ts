import { AsyncResource } from 'node:async_hooks'

/**
 * Runs `work` when woken: at once, or once more right after the run in progress, however many
 * wakes came meanwhile (commits, a poll and a reconnect all wake the relay; one run serves them).
 */
export class CoalescingRunner {
  private running?: Promise<void>
  private wakeAgain = false
  private stopped = true

  private readonly work: () => Promise<void>

  /**
   * `work` runs in the async context the runner is made in, never a waker's: a run serves every wake
   * (a request's commit among them), so the events it writes must not carry that request's cause.
   */
  constructor(work: () => Promise<void>) {
    this.work = AsyncResource.bind(work)
  }

  get isStopped() {
    return this.stopped
  }

  start() {
    this.stopped = false
    this.wake()
  }

  /** No run starts from now on; resolves when the one in progress has ended. */
  async stop() {
    this.stopped = true
    await this.running
  }

  /** Resolves once no run is in progress or due, including the runs wakes asked for meanwhile. */
  async idle() {
    while (this.running) await this.running
  }

  wake() {
    if (this.stopped) return
    if (this.running) {
      this.wakeAgain = true
      return
    }
    this.running = this.work().finally(() => {
      this.running = undefined
      if (this.wakeAgain) {
        this.wakeAgain = false
        this.wake()
      }
    })
  }
}
