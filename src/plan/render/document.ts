/**
 * The DR document, section by section, in the order a reader of a DR plan expects. Each section
 * returns no blocks when the plan leaves it empty. Pure: the same plan gives the same document.
 */
import { finishDocument, type Block, type RenderedDocument, type RenderInput } from './model.js';
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

const SECTIONS: ((input: RenderInput) => Block[])[] = [
  titleSection,
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
