/**
 * A payload that arrives already as checked JSON text (the HTTP layer parses
 * large bodies off the main thread and hands over each payload's text), so
 * the core stores it without parsing and serializing it again. Serializes
 * back to its value when a response includes it.
 */
export class JsonText {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}
