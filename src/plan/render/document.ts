/**
 * The DR document, section by section, in the order a reader of a DR plan expects. Each section
 * returns no blocks when the plan leaves it empty. Pure: the same plan gives the same document.
 */
import {
  bullets,
  code,
  finishDocument,
  note,
  strong,
  text,
  type Block,
  type RenderedDocument,
  type RenderInput,
} from './model.js';
import { architectureSection } from './sections/architecture.js';
import { communicationSection } from './sections/communication.js';
import { dependenciesSection, flagsSection } from './sections/dependencies.js';
import {
  objectivesSection,
  overviewSection,
  summarySection,
  titleSection,
  documentTitle,
} from './sections/overview.js';
import { contactsSection, rolesSection } from './sections/people.js';
import { runbooksSection } from './sections/runbooks.js';
import { scenariosSection } from './sections/scenarios.js';
import { maintenanceSection, testingSection } from './sections/testing.js';

/** The errors a forced render carries, right under the title. */
function errorsSection(input: RenderInput): Block[] {
  const errors = input.errors ?? [];
  if (errors.length === 0) return [];
  return [
    note(
      strong(`This plan has ${errors.length} error${errors.length === 1 ? '' : 's'}`),
      text(' that '),
      code('lifeboat plan check'),
      text(
        ' reports; the document shows the plan as written, and it cannot be trusted until they are fixed:',
      ),
    ),
    bullets(errors.map((e) => [text(`${e.line === undefined ? '' : `line ${e.line}: `}${e.message}`)])),
  ];
}

const SECTIONS: ((input: RenderInput) => Block[])[] = [
  titleSection,
  errorsSection,
  () => [{ kind: 'toc' }],
  summarySection,
  overviewSection,
  objectivesSection,
  architectureSection,
  scenariosSection,
  runbooksSection,
  rolesSection,
  communicationSection,
  testingSection,
  maintenanceSection,
  dependenciesSection,
  flagsSection,
  contactsSection,
];

export function buildDocument(input: RenderInput): RenderedDocument {
  return finishDocument(
    documentTitle(input.plan),
    SECTIONS.flatMap((section) => section(input)),
  );
}
